/**
 * The agent's lifecycle: start (journal loaded and reconciled, unsettled calls watched, tasks
 * scheduled), stop, and what it shows (health, healthz, status). Its parts are built and wired by
 * buildAgent (build.ts); the agent only runs them.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import type { LogHub } from '../http/log-hub.js';
import type { UnderVoltageCounter } from '../metrics/kernel-events.js';
import type { RegistrySources } from '../metrics/registry.js';
import type { ActionTally } from './action-tally.js';
import { ackTags } from './acks.js';
import type { Activity } from './activity.js';
import type { Behaviour } from './behaviours/behaviour.js';
import { rebootBudget } from './budget.js';
import { DECIDE_IDLE_MS, type Decider } from './decider.js';
import type { CommandDispatch } from './dispatch.js';
import { assessHealth, healthDetail, healthzVerdict, type Health, type Healthz } from './health.js';
import { byOperator, intentOf } from './intent.js';
import type { Journal, JournalEntry } from './journal.js';
import type { Observer } from './observer.js';
import type { CloudPoller } from './poller.js';
import type { CloudPort, TagsPort } from './ports.js';
import type { Reporter } from './reporter.js';
import type { Runner } from './runner.js';
import type { Scheduler } from './scheduler.js';
import { nextWindow } from './window.js';
import type { MetricsReport } from './metrics-report.js';
import type { LiveSettings } from './settings.js';
import { buildStatus, type AgentStatus } from './status.js';
import { registrySources, scheduleSurfaces } from './surfaces.js';
import type { Forwarder } from '../logs/forwarder.js';
import type { LogStats } from '../logs/stats.js';

/** Longest a graceful stop may take before the agent gives up waiting for a running call. */
export const STOP_TIMEOUT_MS = 6_000;
/** How often an idle report loop looks whether health changed with time alone. */
export const REPORT_IDLE_MS = 60_000;
/** Longest the last write of pending acks may take at stop (the engine kills after 10 s). */
export const FINAL_FLUSH_MS = 3_000;

/** The agent's parts, as buildAgent wires them. */
export interface AgentParts {
  clock: Clock;
  log: Logger;
  cloud: CloudPort;
  tags: TagsPort;
  bootId: string;
  version: string;
  random: () => number;
  localProblems: () => readonly string[];
  settings: LiveSettings;
  activity: Activity;
  scheduler: Scheduler;
  runner: Runner;
  journal: Journal;
  reporter: Reporter;
  dispatch: CommandDispatch;
  poller: CloudPoller;
  observer: Observer;
  decider: Decider;
  behaviours: readonly Behaviour[];
  ownService: string | undefined;
  /** The app whose services the agent reads (undefined while unknown). */
  appId: () => number | undefined;
  /** Samples on the scheduler and their tags; undefined: no sampling (tests without a metrics source). */
  metrics: MetricsReport | undefined;
  /** The kernel's under-voltage lines, from an always-on journal follow; undefined: not followed. */
  kernelPower: UnderVoltageCounter | undefined;
  tally: ActionTally;
  /** The one journal follow behind `/logs`; undefined: no journal to follow. */
  logHub: LogHub | undefined;
  /** Log forwarding, when the agent was built with its facilities. */
  logs?: Forwarder;
}

/** The agent: polls the cloud, runs intents exactly once, reports its health. */
export class Agent {
  private startedAt = 0;
  private seeded = false;
  /** The journal or the tag prefix may have changed since the ack tags were last built. */
  private acksDirty = false;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly p: AgentParts) {}

  /** Monotonic time the agent started. */
  get startTime(): number {
    return this.startedAt;
  }

  /** Loads and reconciles the journal, then starts polling after the random start spread. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { clock, log, journal, scheduler, settings, poller, decider } = this.p;
    this.startedAt = clock.now();
    const loaded = await journal.load();
    if (loaded === 'corrupt') log.warn({ aside: journal.quarantined }, 'journal was corrupt; kept aside, rebuilding from ack tags');
    const changes = await journal.reconcile(this.p.bootId).catch((err: unknown) => {
      log.error({ err }, 'cannot persist the reconciled journal');
      return [];
    });
    for (const c of changes) log.info(c, 'reconciled a command after restart');
    // Proves the data folder is writable now rather than at the first command (health says so).
    await journal.persist().catch((err: unknown) => log.error({ err }, 'the journal is not writable'));
    this.refreshAcks();
    // Calls a killed process left without an answer: watched for their evidence, never resent.
    for (const e of journal.unsettled()) {
      const i = intentOf(e);
      await this.p.dispatch.dispatch({ kind: 'watch', command: i.command, token: i.key, origin: i.origin, force: i.force, services: i.args.services });
    }
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    const spread = Math.floor(this.p.random() * settings.current.startSpreadMs);
    poller.dueAt = this.startedAt + spread;
    scheduler.every('poll', { initialDelayMs: spread, intervalMs: () => poller.planNext() }, (s) => this.poll(s));
    // Idle, the report loop looks once a minute (health that changes with time alone); a change
    // wakes it at once (runNow), so a quiet device wakes 6 times an hour for it, not 360.
    scheduler.every('report', { initialDelayMs: spread, intervalMs: () => this.p.reporter.delayMs(REPORT_IDLE_MS) }, () => this.report());
    // Behaviours decide on their own too (offline, between polls), not only after a good poll.
    scheduler.every('decide', { initialDelayMs: 0, intervalMs: () => decider.idleMs() }, () => this.decide());
    // Off, the watchdog's loop only looks whether a live tag turned it on (a poll also wakes it).
    scheduler.every('watchdog', { initialDelayMs: 0, intervalMs: () => (settings.current.watchdog === null ? DECIDE_IDLE_MS : settings.current.watchdogIntervalMs) }, (s) => this.lookAtServices(s));
    this.p.logs?.start();
    // One timer for every start ahead: the reboot schedule's next slot and the earliest intent
    // waiting for its wave or window (not a loop per intent); `at` fires after a clock jump too.
    scheduler.at('starts', () => this.nextStart(), () => Promise.resolve(scheduler.runNow('decide')));
    scheduleSurfaces(this.p);
  }

  /**
   * Stops every task within STOP_TIMEOUT_MS (a supervisor call in flight is not waited for
   * longer), then writes the acks still pending, at once, for at most FINAL_FLUSH_MS: what a
   * stop would otherwise lose is what the next process needs to know.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.p.logHub?.close();
      await this.within(STOP_TIMEOUT_MS, Promise.allSettled([this.p.scheduler.stop(), this.p.runner.stop()]));
      if (!this.started) return;
      await this.within(FINAL_FLUSH_MS, this.p.logs?.close().catch(() => undefined) ?? Promise.resolve());
      if (this.acksDirty) this.refreshAcks();
      await this.within(FINAL_FLUSH_MS, this.p.reporter.flush({ now: true }).catch(() => false));
    })();
    return this.stopping;
  }

  private async within(ms: number, work: Promise<unknown>): Promise<void> {
    const timer = new AbortController();
    await Promise.race([work, this.p.clock.sleep(ms, timer.signal).catch(() => undefined)]);
    timer.abort();
  }

  /** Writes an entry's ack straight to the cloud and waits for it (before a purge; see evidence.ts). */
  async recordInCloud(entry: JournalEntry): Promise<void> {
    const acks = ackTags([entry], this.p.settings.current.tagPrefix);
    await this.p.tags.setInCloud(acks);
    this.p.reporter.markWritten(acks);
  }

  /** Writes an entry's ack now (through the supervisor, or the cloud) and waits for it, at most `withinMs`; never throws. */
  async recordAck(entry: JournalEntry, withinMs: number): Promise<void> {
    const acks = ackTags([entry], this.p.settings.current.tagPrefix);
    let written = false;
    await this.within(withinMs, this.p.tags.set(acks).then(
      () => void (written = true),
      (err: unknown) => this.p.log.warn({ err }, 'could not write the ack before the call; it follows later'),
    ));
    if (written) this.p.reporter.markWritten(acks);
  }

  /** The hub of `/logs` clients (undefined without a journal to follow). */
  get logHub(): LogHub | undefined {
    return this.p.logHub;
  }

  /** Polls now instead of waiting for the interval. */
  pollNow(): void {
    this.p.scheduler.runNow('poll');
  }

  /** Makes the behaviours decide now (tests; the demo). */
  decideNow(): void {
    this.p.scheduler.runNow('decide');
  }

  /** Resolves when no task or command is running (sleeping ones do not count). */
  idle(): Promise<void> {
    return this.p.activity.idle();
  }

  /** The configuration in effect (environment plus live tags). */
  effectiveConfig(): Config {
    return this.p.settings.current;
  }

  /** The health verdict now. */
  health(): Health {
    const { clock, poller, observer, journal, settings } = this.p;
    return assessHealth({
      now: clock.now(),
      startedAt: this.startedAt,
      lastGoodPollAt: poller.lastContactAt,
      pollIntervalMs: settings.current.pollIntervalMs,
      startSpreadMs: settings.current.startSpreadMs,
      supervisorReachable: observer.supervisorReachable,
      supervisorProblem: observer.supervisorProblem,
      journalWritable: journal.writable,
      configProblems: settings.problems,
      localProblems: [
        ...this.p.localProblems(), ...this.p.decider.problems, ...(this.p.logs?.problems() ?? []),
      ],
      deviceKeyRejected: poller.deviceKeyRejected,
      cloudHoldMs: Math.max(0, (this.p.cloud.notBefore?.() ?? 0) - clock.now()),
    });
  }

  /** What /healthz (the image's HEALTHCHECK) answers: fails only when the poll loop is stuck (see healthzVerdict). */
  healthz(): Healthz {
    const overdueMs = this.started ? this.p.clock.now() - this.p.poller.dueAt : 0;
    return healthzVerdict(this.health(), overdueMs, this.p.settings.current.pollIntervalMs);
  }

  /** What /metrics reads (without log forwarding, the log families have no series). */
  registrySources(): RegistrySources {
    const { poller, journal, tally, cloud, metrics, version, logs } = this.p;
    return registrySources({
      version, tally, cloud, metrics, logStats: logs ? () => logs.stats() : undefined, entries: () => journal.entries(), health: () => this.health().state, lastContactWall: () => poller.lastContactWall,
    });
  }

  /** Log forwarding's counters (what /metrics reads); undefined when the agent forwards no logs. */
  logStats(): LogStats | undefined {
    return this.p.logs?.stats();
  }

  /** The status document of /status (no secrets). */
  status(): AgentStatus {
    const { clock, poller, observer, journal, settings, decider } = this.p;
    const wall = clock.wall();
    const snapshot = decider.snapshot();
    return buildStatus({
      health: this.health(),
      version: this.p.version,
      config: settings.current,
      lastGoodPollWall: poller.lastContactWall,
      lastPollError: poller.lastError,
      failures: poller.failures,
      supervisorReachable: observer.supervisorReachable,
      entries: journal.entries(),
      journalPath: journal.path,
      journalWritable: journal.writable,
      budget: rebootBudget(journal.rebootStamps(), wall, settings.current.maxRebootsPerDay),
      metrics: this.p.metrics?.last ?? null,
      ...(this.p.logs ? { logs: this.p.logs.status() } : {}),
      window: settings.current.maintenanceWindow === null ? null : nextWindow(settings.current.maintenanceWindow, settings.current.timeZone, wall),
      wall,
      behaviours: this.p.behaviours.filter((b) => !byOperator(b.name)).map((b) => ({
        name: b.name,
        active: b.enabled(snapshot),
        nextWall: b.enabled(snapshot) ? (b.nextWakeWall?.(snapshot) ?? null) : null,
      })),
    });
  }

  /**
   * The earliest wall time a round must look by itself: the reboot schedule's next slot (its spread
   * offset included) or the start of an intent `scheduled` for its wave or window; null when none.
   */
  private nextStart(): number | null {
    const schedule = this.p.behaviours.find((b) => b.name === 'reboot-schedule');
    const s = this.p.decider.snapshot();
    let next = schedule?.enabled(s) === true ? (schedule.nextWakeWall?.(s) ?? null) : null;
    for (const e of s.journal) if (e.state === 'scheduled' && e.startAt !== undefined && (next === null || e.startAt < next)) next = e.startAt;
    return next;
  }

  private async poll(signal: AbortSignal): Promise<void> {
    const { log, journal, settings, poller, observer, reporter, scheduler } = this.p;
    const result = await poller.poll(settings.current.tagPrefix, signal);
    if (!result) {
      if (!signal.aborted) scheduler.runNow('report');
      return;
    }
    if (!journal.writable) {
      // Nothing else may write for a while: probe, so health clears as soon as the disk has room.
      await journal.persist().catch(() => undefined);
    }
    if (!this.seeded) {
      reporter.seed(result.deviceTags);
      this.seeded = true;
    }
    const watching = settings.current.watchdog !== null;
    const sampling = settings.current.metricsIntervalMs;
    settings.apply(result.deviceTags, result.fleetTags);
    if (!watching && settings.current.watchdog !== null) scheduler.runNow('watchdog');
    // A new metrics interval applies now, not after the sleep the old one started.
    if (settings.current.metricsIntervalMs !== sampling) scheduler.runNow('metrics');
    this.p.logs?.wake();
    // The prefix (here) and the journal (imported acks, below) may change: should the poll end
    // early, the next report rebuilds the ack tags.
    this.acksDirty = true;
    try {
      await journal.importAcks(result.deviceTags, settings.current.tagPrefix, this.p.bootId);
    } catch (err) {
      log.error({ err }, 'cannot persist tokens rebuilt from ack tags');
    }
    this.acksDirty = true;
    await observer.readServices(result.device.appId);
    await this.decide();
    log.debug('poll complete');
  }

  private async decide(): Promise<void> {
    await this.p.decider.round();
    this.refreshAcks();
    this.p.scheduler.runNow('report');
  }

  private async lookAtServices(signal: AbortSignal): Promise<void> {
    const config = this.p.settings.current;
    if (config.watchdog === null) return;
    await this.p.observer.look(this.p.appId(), config, this.p.ownService, signal);
    await this.decide();
  }

  /** Called after every persisted change of an entry; `dropped`: outcomes the journal did not keep. */
  changed(dropped: readonly JournalEntry[] = []): void {
    this.p.tally.observe(this.p.journal.entries());
    this.refreshAcks();
    // Acks whose entries the journal did not keep: the ack tag is their only record.
    if (dropped.length > 0) this.p.reporter.update(ackTags(dropped, this.p.settings.current.tagPrefix));
    this.p.scheduler.runNow('report');
  }

  /** Each command's ack and each behaviour's `.last` show its most recently changed entry (change order, not wall time). */
  private refreshAcks(): void {
    this.acksDirty = false;
    this.p.reporter.update(ackTags(this.p.journal.latest().values(), this.p.settings.current.tagPrefix));
  }

  private async report(): Promise<void> {
    if (this.acksDirty) this.refreshAcks();
    const config = this.p.settings.current;
    if (config.report) {
      const h = this.health();
      const p = config.tagPrefix;
      this.p.reporter.update({ [`${p}health`]: h.state, [`${p}health.detail`]: healthDetail(h.reasons) || 'ok', [`${p}version`]: this.p.version, ...this.p.metrics?.tags(p) });
    }
    await this.p.reporter.flush();
  }
}
