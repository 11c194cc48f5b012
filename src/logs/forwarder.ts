/**
 * Log forwarding wired: journal source → live filter → disk spool → one runner per sink. It follows
 * `AGENT_LOGS_FORWARD` live: on its tick it starts when the list gets a sink, stops reading the
 * journal when it empties, and adds or removes sinks. A sink new to the spool starts at the spool's
 * current head (the lines stored from then on); a sink seen before resumes at its stored cursor.
 */
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import type { BackoffOptions } from '../lib/backoff.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import type { Scheduler } from '../agent/scheduler.js';
import { LiveFilter } from './filter.js';
import { JournalSource, type JournalPort } from './source.js';
import { Spool, type SpoolFs } from './spool.js';
import type { LogStats } from './stats.js';
import { CloudSink } from './sinks/cloud.js';
import { HttpSink } from './sinks/http.js';
import { LokiSink } from './sinks/loki.js';
import type { Sink } from './sinks/sink.js';
import { SINK_FAILING_SHOWN_MS, SinkRunner } from './sinks/runner.js';

/** How often the forwarder stores a partial batch, fsyncs when due and looks at the sink list. */
export const TICK_MS = 250;
/** How often it looks at the sink list while forwarding is off (a poll that changes it wakes it at once). */
export const IDLE_TICK_MS = 60_000;
/** Reconnect backoff of the journal follow. */
export const SOURCE_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 };

/** What the forwarder needs. */
export interface ForwarderDeps {
  clock: Clock;
  log: Logger;
  scheduler: Scheduler;
  /** The settings in effect (live). */
  config: () => Config;
  journal: JournalPort;
  dispatcher: Dispatcher;
  /** The device's uuid and fleet (name if known, else id) for sink labels. */
  device: () => { uuid: string; fleet: string };
  /** BALENA_API_URL and the device key for the `cloud` sink (absent: `cloud` is refused with a reason). */
  cloudApi?: { baseUrl: string; apiKey: string };
  /** Epoch ms the current boot began, when known. */
  bootTimeMs: () => number | undefined;
  fs?: SpoolFs;
  /** Called after each delivered batch. */
  onSent?: (sink: string, lines: number) => void;
  sinkBackoff?: BackoffOptions;
}

/** The `logs` part of /status. */
export interface LogsStatus {
  sinks: { sink: string; sent: number; dropped: number; pending: number; lastError?: string; nextTryAt?: string }[];
  spoolBytes: number;
  spoolLimitBytes: number;
  position?: string;
}

/** Log forwarding (see the file header). */
export class Forwarder {
  private spool: Spool | undefined;
  private source: JournalSource | undefined;
  private readonly runners = new Map<string, SinkRunner>();
  private readonly filter: LiveFilter;
  private opening: Promise<void> | undefined;
  private problem: string | undefined;
  /** Why a named sink cannot run (set at each reconcile). */
  private unusable: string[] = [];
  private sourceOn = false;

  constructor(private readonly deps: ForwarderDeps) {
    this.filter = new LiveFilter(deps.config);
  }

  /** Schedules the tick (which starts forwarding when sinks are set). */
  start(): void {
    this.deps.scheduler.every('log-forward', { initialDelayMs: 0, intervalMs: () => (this.sinkSpecs().length > 0 ? TICK_MS : IDLE_TICK_MS) }, () => this.tick());
  }

  /** Wakes the tick now (a poll changed the settings). */
  wake(): void {
    this.deps.scheduler.runNow('log-forward');
  }

  /** Stores what the source holds and closes the spool (after the scheduler stopped). */
  async close(): Promise<void> {
    await this.source?.flush().catch(() => undefined);
    await this.spool?.close();
  }

  /** The counters for /metrics. */
  stats(): LogStats {
    return {
      sinks: [...this.runners.values()].map((r) => {
        r.collect();
        return { sink: r.label, sent: r.sent, dropped: r.dropped };
      }),
      spoolBytes: this.spool?.bytes ?? 0,
    };
  }

  /** The `logs` part of /status (no secrets: labels carry no credentials). */
  status(): LogsStatus {
    const out: LogsStatus = {
      sinks: [...this.runners.values()].map((r) => {
        r.collect();
        return {
          sink: r.label, sent: r.sent, dropped: r.dropped, pending: r.pending(),
          ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
          ...(r.nextTryAt !== undefined ? { nextTryAt: new Date(r.nextTryAt).toISOString() } : {}),
        };
      }),
      spoolBytes: this.spool?.bytes ?? 0,
      spoolLimitBytes: this.deps.config().logsSpoolBytes,
    };
    const at = this.source?.at ?? this.spool?.position;
    if (at) out.position = new Date(Math.floor(at.atUs / 1000)).toISOString();
    return out;
  }

  /** Health reasons: drops within the last hour, sinks failing for long or refusing the credentials, a refused disk. */
  problems(): string[] {
    const now = this.deps.clock.now();
    const out: string[] = [];
    if (this.problem) out.push(this.problem);
    out.push(...this.unusable);
    if (this.spool?.diskProblem) out.push(`logs: the spool cannot write (${this.spool.diskProblem}); lines are dropped`);
    for (const r of this.runners.values()) {
      r.collect();
      const recent = r.droppedRecently(now);
      if (recent > 0) out.push(`logs: ${recent} lines dropped for ${r.label} in the last hour`);
      if (r.refused) out.push(`logs: ${r.label} refuses the credentials`);
      else if (r.failingSince !== undefined && now - r.failingSince > SINK_FAILING_SHOWN_MS) out.push(`logs: ${r.label} failing for more than ${SINK_FAILING_SHOWN_MS / 60_000} min`);
    }
    return out;
  }

  private sinkSpecs(): readonly string[] {
    return this.deps.config().logsForward;
  }

  private async tick(): Promise<void> {
    const specs = this.sinkSpecs();
    if (specs.length === 0 && !this.spool) return;
    if (!this.spool) {
      this.opening ??= this.open();
      await this.opening;
      if (!this.spool) return;
    }
    await this.reconcile(specs);
    await this.source?.flush();
    await this.spool.sync();
  }

  private async open(): Promise<void> {
    const { clock, log, config } = this.deps;
    try {
      this.spool = await Spool.open({
        dir: join(config().dataDir, 'logs'), budgetBytes: config().logsSpoolBytes, clock, ...(this.deps.fs ? { fs: this.deps.fs } : {}),
      });
      this.problem = undefined;
    } catch (err) {
      this.problem = `logs: the spool cannot open (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
      log.error({ err }, 'log spool cannot open; forwarding waits');
      this.opening = undefined;
      return;
    }
    const spool = this.spool;
    this.source = new JournalSource({
      journal: this.deps.journal, clock, log, position: spool.position, bootTimeMs: this.deps.bootTimeMs,
      filter: () => this.filter.current(),
      store: (lines, position) => spool.append(lines, position),
    });
  }

  private async reconcile(specs: readonly string[]): Promise<void> {
    const { scheduler, log } = this.deps;
    const spool = this.spool!;
    const wanted = new Map<string, Sink>();
    const unusable: string[] = [];
    for (const spec of specs) {
      const sink = this.makeSink(spec);
      if (!sink) unusable.push(`logs: sink ${spec} not used: the cloud's address or the device key is not known (BALENA_API_URL, BALENA_API_KEY)`);
      else if (!wanted.has(sink.label)) wanted.set(sink.label, sink);
    }
    this.unusable = unusable;
    // A sink no longer named (here or by an earlier process) lets go of its cursor, so it holds no segment.
    for (const label of spool.sinks()) if (!wanted.has(label) && !this.runners.has(label)) await spool.detach(label);
    for (const [label] of this.runners) {
      if (wanted.has(label)) continue;
      await scheduler.remove(`logs-sink:${label}`);
      this.runners.delete(label);
      await spool.detach(label);
      log.info({ sink: label }, 'log sink removed');
    }
    for (const [label, sink] of wanted) {
      if (this.runners.has(label)) continue;
      spool.attach(label, 'head');
      const runner = new SinkRunner({
        sink, spool, clock: this.deps.clock, log, ...(this.deps.sinkBackoff ? { backoff: this.deps.sinkBackoff } : {}),
        ...(this.deps.onSent ? { onSent: this.deps.onSent } : {}),
      });
      this.runners.set(label, runner);
      scheduler.service(`logs-sink:${label}`, (signal) => runner.run(signal), this.deps.sinkBackoff ?? SOURCE_BACKOFF);
      log.info({ sink: label }, 'log sink added');
    }
    const on = wanted.size > 0;
    if (on && !this.sourceOn) {
      this.sourceOn = true;
      const source = this.source!;
      scheduler.service('logs-source', (signal) => source.run(signal), SOURCE_BACKOFF);
    } else if (!on && this.sourceOn) {
      this.sourceOn = false;
      await scheduler.remove('logs-source');
    }
  }

  private makeSink(spec: string): Sink | undefined {
    const { dispatcher, clock } = this.deps;
    const wall = (): number => clock.wall();
    const uuid = (): string => this.deps.device().uuid;
    if (spec === 'cloud') {
      if (!this.deps.cloudApi?.baseUrl) return undefined;
      return new CloudSink({ ...this.deps.cloudApi, deviceUuid: uuid, dispatcher, clock });
    }
    if (spec.startsWith('loki+')) return new LokiSink({ spec, dispatcher, deviceUuid: uuid, fleet: () => this.deps.device().fleet, wall });
    return new HttpSink({ url: spec, dispatcher, deviceUuid: uuid, wall });
  }
}
