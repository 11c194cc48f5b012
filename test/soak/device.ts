/**
 * One simulated device of a soak run: its supervisor simulator, its agent child, and what the
 * supervisor's effects do to that agent (CONTRACT §2): a reboot or shutdown kills it (SIGTERM,
 * then SIGKILL) and starts it again with a new kernel boot id (after a shutdown: later); a restart
 * of the app kills and starts it; a purge also wipes its data volume; restart-service of its own
 * service kills and starts it; stop-service of its own service kills it until an operator starts
 * the service again or reboots the device. Container lifecycle steps run one at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { CloudSimulator } from '../../src/sim/cloud/simulator.js';
import { SupervisorSimulator, type SimEffect } from '../../src/sim/supervisor/simulator.js';
import { startAgent, type AgentProcess } from './children.js';
import { OWN_SERVICE } from './plan.js';
import { Rng } from './rng.js';

/** Counters shared by every device of a run. */
export interface SoakStats {
  sigkills: number;
  sigterms: number;
  effectKills: number;
  clockSteps: number;
  agentStarts: number;
}

/** What a device needs from the run. */
export interface DeviceOptions {
  index: number;
  uuid: string;
  deviceKey: string;
  cloud: CloudSimulator;
  dir: string;
  appId: number;
  httpPort: number;
  seed: number;
  stats: SoakStats;
  /** Every agent log line goes into the trace (not only warnings and reconciliations). */
  agentLog: boolean;
  /** Aborts every wait when the run is interrupted. */
  signal: AbortSignal;
}

/** Wakes waiters whenever something observable happened on the device. */
class Waker {
  private waiters = new Set<() => void>();

  wake(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w();
  }

  /** Resolves true once `cond` holds (checked at every wake), false after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const stop = new AbortController();
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.add(resolve)),
        delay(left, undefined, { signal: AbortSignal.any([stop.signal, signal]) }).catch(() => undefined),
      ]);
      stop.abort();
      if (signal.aborted) return false;
    }
    return true;
  }
}

/** One device: supervisor simulator, agent child, emulated effects. */
export class SoakDevice {
  readonly sup: SupervisorSimulator;
  readonly waker = new Waker();
  private agent: AgentProcess | undefined;
  private chain: Promise<void> = Promise.resolve();
  private pendingOps = 0;
  private power: 'on' | 'off' = 'on';
  private ownStopped = false;
  private operatorCalls = 0;
  private readonly rng: Rng;
  private readonly dataDir: string;
  private readonly bootIdPath: string;
  private env: Record<string, string> = {};
  /** The wall-clock offset of this device's agent. */
  clockOffsetMs = 0;
  private maxClockOffsetMs = 0;
  /** How many `poll complete` lines its agents logged. */
  polls = 0;
  /** How many the running agent logged. */
  private agentPolls = 0;
  /** Boots of this device (the first included). */
  boots = 1;
  /** Sees every effect not caused by the harness's own operator calls. */
  effectListener: ((e: SimEffect) => void) | undefined;
  /** Sees every ack tag the agent wrote (through the supervisor). */
  ackListener: ((key: string, value: string) => void) | undefined;
  /** Where trace lines of the current round go. */
  tracer: ((text: string) => void) | undefined;

  constructor(private readonly opts: DeviceOptions) {
    this.rng = new Rng(opts.seed);
    this.dataDir = join(opts.dir, 'data');
    this.bootIdPath = join(opts.dir, 'boot_id');
    this.sup = new SupervisorSimulator({
      apiKey: `soaksupervisorkey${String(opts.index).padStart(6, '0')}`,
      appId: opts.appId,
      appName: 'soak-fleet',
      // As the supervisor does: tags it is given reach the cloud (here at once).
      onTagsPatch: (tags) => {
        for (const [k, v] of Object.entries(tags)) {
          opts.cloud.setDeviceTag(opts.uuid, k, v);
          if (k.endsWith('.ack')) this.ackListener?.(k, v);
        }
        this.waker.wake();
      },
    });
  }

  /** Starts the supervisor simulator and the first agent. */
  async start(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    await writeFile(this.bootIdPath, `${randomBytes(16).toString('hex')}\n`);
    await this.sup.start();
    this.sup.onEffect((e) => this.effected(e));
    this.env = {
      BALENA_SUPERVISOR_ADDRESS: this.sup.url, BALENA_SUPERVISOR_API_KEY: this.sup.apiKey, BALENA_APP_ID: String(this.opts.appId),
      BALENA_API_URL: this.opts.cloud.url, BALENA_API_KEY: this.opts.deviceKey, BALENA_DEVICE_UUID: this.opts.uuid,
      BALENA_SERVICE_NAME: OWN_SERVICE,
      AGENT_START_SPREAD: '0', AGENT_POLL_INTERVAL: '10s', AGENT_DATA_DIR: join(this.dataDir, 'fleet-agent'),
      AGENT_BOOT_ID_PATH: this.bootIdPath, AGENT_HTTP_PORT: String(this.opts.httpPort), AGENT_LOG_LEVEL: 'debug',
      AGENT_ACTIONS: 'reboot,shutdown,restart,purge,restart-service,stop-service,start-service,identify,update',
      AGENT_MAX_REBOOTS_PER_DAY: '100', AGENT_LOCK_WAIT: '30s',
    };
    this.spawn();
  }

  /** The agent's journal file. */
  get journalPath(): string {
    return join(this.dataDir, 'fleet-agent', 'journal.json');
  }

  /** True when no lifecycle step is pending and the agent runs. */
  idle(): boolean {
    return this.pendingOps === 0 && this.agent?.alive() === true;
  }

  /** Idle, and the running agent has completed a poll (so it has decided on every tag it sees). */
  settled(): boolean {
    return this.idle() && this.agentPolls > 0;
  }

  /** Waits until its agents have completed `count` more polls (false after `timeoutMs`). */
  async morePolls(count: number, timeoutMs: number): Promise<boolean> {
    const mark = this.polls;
    return this.until(() => this.polls >= mark + count && this.idle(), timeoutMs);
  }

  /** Kills the agent as a crash does; the container comes back after `restartAfterMs`. */
  crash(signal: 'SIGKILL' | 'SIGTERM', restartAfterMs: number, why: string): void {
    this.enqueue(async () => {
      if (!this.agent?.alive()) return;
      this.trace(`${signal} (${why})`);
      if (signal === 'SIGKILL') this.opts.stats.sigkills += 1;
      else this.opts.stats.sigterms += 1;
      await this.stopAgent(signal, this.rng.int(200, 3_000));
      await delay(restartAfterMs, undefined, { signal: this.opts.signal });
      this.spawnIfUp();
    });
  }

  /** The largest offset the agent's wall clock ever had on this device (an intent may be stamped with it). */
  maxClockOffset(): number {
    return this.maxClockOffsetMs;
  }

  /** Steps the agent's wall clock to `offsetMs` from the real one. */
  async stepClock(offsetMs: number): Promise<void> {
    this.clockOffsetMs = offsetMs;
    this.maxClockOffsetMs = Math.max(this.maxClockOffsetMs, offsetMs);
    this.opts.stats.clockSteps += 1;
    this.trace(`clock offset ${(offsetMs / 3_600_000).toFixed(1)} h`);
    await this.agent?.setClockOffset(offsetMs);
  }

  /** Waits until `cond` holds, re-checking whenever something happens; false after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.waker.until(cond, timeoutMs, this.opts.signal);
  }

  /** Stops the agent and the simulator. */
  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    if (this.agent?.alive()) {
      this.agent.signal('SIGKILL');
      await this.agent.exited;
    }
    await this.sup.stop();
  }

  private trace(text: string): void {
    this.tracer?.(text);
  }

  private enqueue(op: () => Promise<void>): void {
    this.pendingOps += 1;
    this.chain = this.chain
      .then(op)
      .catch((err: unknown) => {
        if (!this.opts.signal.aborted) this.trace(`lifecycle step failed: ${String(err)}`);
      })
      .finally(() => {
        this.pendingOps -= 1;
        this.waker.wake();
      });
  }

  private spawn(): void {
    this.opts.stats.agentStarts += 1;
    this.agentPolls = 0;
    this.agent = startAgent(this.env, this.clockOffsetMs, {
      poll: () => {
        this.polls += 1;
        if (this.agent === agent) this.agentPolls += 1;
        this.waker.wake();
      },
      note: (text) => this.trace(text),
    }, this.opts.agentLog);
    const agent = this.agent;
    void agent.exited.then(() => this.waker.wake());
    this.trace(`agent started (pid ${agent.pid})`);
  }

  private spawnIfUp(): void {
    if (this.power === 'on' && !this.ownStopped && !this.opts.signal.aborted) this.spawn();
  }

  /** SIGTERM with `graceMs` before SIGKILL (as `docker stop`), or SIGKILL at once. */
  private async stopAgent(signal: 'SIGKILL' | 'SIGTERM', graceMs: number): Promise<void> {
    const agent = this.agent;
    if (!agent?.alive()) return;
    agent.signal(signal);
    if (signal === 'SIGTERM') {
      const stop = new AbortController();
      await Promise.race([agent.exited, delay(graceMs, undefined, { signal: stop.signal }).catch(() => undefined)]);
      stop.abort();
      agent.signal('SIGKILL');
    }
    await agent.exited;
  }

  private effected(e: SimEffect): void {
    const own = e.service === OWN_SERVICE;
    const operator = this.operatorCalls > 0;
    if (operator) this.operatorCalls -= 1;
    else this.effectListener?.(e);
    this.trace(`supervisor acted: ${e.kind}${e.service ? ` ${e.service}` : ''}${operator ? ' (operator)' : ''}`);
    this.waker.wake();
    switch (e.kind) {
      case 'reboot':
        this.enqueue(() => this.powerCycle(this.rng.int(200, 1_500)));
        return;
      case 'shutdown':
        this.enqueue(() => this.powerCycle(this.rng.int(3_000, 8_000)));
        return;
      case 'restart':
        this.enqueue(() => this.recreate(false));
        return;
      case 'purge':
        this.enqueue(() => this.recreate(true));
        return;
      case 'restart-service':
        if (own) this.enqueue(() => this.recreate(false));
        return;
      case 'stop-service':
        if (own) this.enqueue(() => this.stopOwn());
        return;
      case 'start-service':
        if (own && this.ownStopped) {
          this.enqueue(() => {
            this.ownStopped = false;
            this.spawnIfUp();
            return Promise.resolve();
          });
        }
        return;
      case 'blink':
      case 'update':
        return;
    }
  }

  private async powerCycle(offMs: number): Promise<void> {
    this.opts.stats.effectKills += 1;
    await this.stopAgent('SIGTERM', this.rng.int(0, 1_500));
    this.power = 'off';
    await writeFile(this.bootIdPath, `${randomBytes(16).toString('hex')}\n`);
    this.boots += 1;
    this.trace(`device down (new boot id), up again in ${offMs} ms`);
    await delay(offMs, undefined, { signal: this.opts.signal });
    this.power = 'on';
    // Every service starts at boot, a stopped one too.
    this.ownStopped = false;
    this.spawnIfUp();
  }

  private async recreate(wipe: boolean): Promise<void> {
    this.opts.stats.effectKills += 1;
    await this.stopAgent('SIGTERM', this.rng.int(0, 1_500));
    if (wipe) {
      await rm(this.dataDir, { recursive: true, force: true });
      await mkdir(this.dataDir, { recursive: true });
      this.trace('data volume wiped');
    }
    this.spawnIfUp();
  }

  /** The agent's own service stopped: it stays down until an operator starts it or reboots the device. */
  private async stopOwn(): Promise<void> {
    this.opts.stats.effectKills += 1;
    await this.stopAgent('SIGTERM', this.rng.int(0, 1_500));
    this.ownStopped = true;
    const reboot = this.rng.chance(0.4);
    const after = this.rng.int(2_000, 6_000);
    this.trace(`own service stopped; an operator ${reboot ? 'reboots the device' : 'starts it'} in ${after} ms`);
    await delay(after, undefined, { signal: this.opts.signal });
    this.operatorCalls += 1;
    const path = reboot ? '/v1/reboot' : `/v2/applications/${this.opts.appId}/start-service`;
    const res = await fetch(`${this.sup.url}${path}?apikey=${this.sup.apiKey}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(reboot ? { force: true } : { serviceName: OWN_SERVICE }),
    }).catch(() => undefined);
    await res?.text();
    if (!res?.ok) {
      this.operatorCalls = Math.max(0, this.operatorCalls - 1);
      this.ownStopped = false;
      this.spawnIfUp();
    }
  }
}
