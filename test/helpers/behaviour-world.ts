/**
 * A device over simulated weeks, for property tests of the agent's behaviours: the agent as
 * buildAgent wires it, on the in-memory models of device-model.ts and one ManualClock; killed
 * (abandoned, never stopped) and built again on the same journal when it crashes, when the app is
 * restarted, and after every reboot with the new boot id. Every journal write that reaches the
 * disk is handed to the test, so it can follow each intent's states as they were persisted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Agent } from '../../src/agent/agent.js';
import { buildAgent } from '../../src/agent/build.js';
import type { Config } from '../../src/config/schema.js';
import { ManualClock } from '../../src/lib/clock.js';
import { createLogger, type Logger } from '../../src/lib/logger.js';
import { testConfig } from './agent-fixtures.js';
import { AgentProcess } from './agent-process.js';
import { APP_ID, CloudModel, DeviceModel, journalPathIn, OWN_SERVICE } from './device-model.js';

/** A journal entry as the test reads it from the file. */
export interface DiskEntry {
  command: string;
  token: string;
  origin?: string;
  state: string;
  detail: string;
  sending: boolean;
  services: string[];
  createdAt: number;
  updatedAt: number;
  /** While `scheduled`: when it starts. */
  startAt?: number;
}

/** The journal file's content, as far as the test reads it. */
export interface DiskJournal {
  entries: DiskEntry[];
  reboots: number[];
}

/** How the world is set up. */
export interface WorldOptions {
  startWall: number;
  config: Partial<Config>;
  services: readonly string[];
  /** The world's own randomness (delays of boots, replies, relapses) and the agents' (poll jitter). */
  random: () => number;
  /** Whether the supervisor answers a call that kills the agent before it dies. */
  replies: (command: string) => boolean;
  /** Longest the case may take in real time (a hang fails it instead of the whole run). */
  realLimitMs: number;
}

/** Warnings the agent logs in the normal course of an outage; any other warning or error is a problem. */
const EXPECTED_WARNINGS = new Set(['cloud poll failed', 'writing tags failed; will retry', 'could not write the ack before the call; it follows later']);

/** Most wakes at one instant before the world calls it a busy loop. */
const MAX_WAKES_AT_ONCE = 5_000;
const HOUR_MS = 3_600_000;

interface Scheduled {
  at: number;
  seq: number;
  run: () => Promise<void> | void;
  /** Part of the test's plan (an outage, a failure), not of the device's own life (a boot). */
  planned: boolean;
}

/** Counts of what happened to the device. */
export interface WorldCounts {
  starts: number;
  crashes: number;
  powerCycles: number;
  recreated: number;
  /** What dead processes still tried to do (calls, writes, sleeps), none of which happened. */
  blocked: number;
}

/** The world. */
export class BehaviourWorld {
  readonly clock: ManualClock;
  readonly model: DeviceModel;
  readonly cloud: CloudModel;
  readonly config: Config;
  readonly counts: WorldCounts = { starts: 0, crashes: 0, powerCycles: 0, recreated: 0, blocked: 0 };
  /** Log lines that should not be there (errors, unexpected warnings). */
  readonly logProblems: string[] = [];
  /** The most timer wakes in one hour of simulated time (hours counted from the start), and the hour's start (wall). */
  busiestHour = { wakes: 0, wall: 0 };
  proc: AgentProcess | undefined;
  agent: Agent | undefined;
  /** The journal as the last write that reached the disk left it. */
  disk: DiskJournal = { entries: [], reboots: [] };
  /** Called after each journal write that reached the disk. */
  onJournal: (journal: DiskJournal) => void = () => undefined;
  private readonly log: Logger;
  private events: Scheduled[] = [];
  private seq = 0;
  private procs = 0;
  private startPending = false;
  private midCrash: { at: number; rounds: number; downMs: number } | null = null;
  private hour = { index: -1, wakes: 0 };
  /** Rejects when the world has run longer than its real-time limit (an agent that never idles). */
  private readonly stuck: Promise<never>;
  private stuckTimer: NodeJS.Timeout | undefined;

  private constructor(readonly dir: string, private readonly opts: WorldOptions) {
    this.clock = new ManualClock(opts.startWall);
    this.stuck = new Promise<never>((_, reject) => {
      this.stuckTimer = setTimeout(() => reject(new Error(`the case ran longer than ${opts.realLimitMs} ms of real time (an agent that never idles?) at ${new Date(this.clock.wall()).toISOString()}`)), opts.realLimitMs);
    });
    this.stuck.catch(() => undefined);
    this.config = testConfig({ dataDir: dir, bootIdPath: join(dir, 'no-boot-id'), startSpreadMs: 0, ...opts.config });
    const rand = (lo: number, hi: number): number => lo + Math.floor(opts.random() * (hi - lo));
    this.model = new DeviceModel(this.clock, journalPathIn(dir), opts.services, {
      reboot: (replied) => this.after(replied ? rand(1_000, 90_000) : 0, () => this.powerCycle()),
      recreateAgent: (replied) => this.after(replied ? rand(500, 5_000) : 0, async () => {
        this.counts.recreated += 1;
        await this.kill();
        this.startAfter(rand(5_000, 30_000));
      }),
    }, opts.replies, () => rand(60_000, 240_000));
    this.cloud = new CloudModel({ id: 7, uuid: 'c0ffee00c0ffee00c0ffee00c0ffee00', appId: APP_ID }, () => rand(0, 4), this.clock);
    this.log = createLogger({
      level: 'warn',
      destination: new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          for (const line of String(chunk).split('\n').filter(Boolean)) {
            const parsed = JSON.parse(line) as { level?: string; msg?: string };
            if (parsed.level === 'warn' && EXPECTED_WARNINGS.has(parsed.msg ?? '')) continue;
            this.logProblems.push(`${new Date(this.clock.wall()).toISOString()} ${line.slice(0, 400)}`);
          }
          done();
        },
      }),
    });
  }

  /** Builds the world and starts the first agent. */
  static async create(opts: WorldOptions): Promise<BehaviourWorld> {
    const world = new BehaviourWorld(await mkdtemp(join(tmpdir(), 'behaviours-')), opts);
    await world.start();
    return world;
  }

  /** Runs `run` at monotonic time `at` (in order with the agent's own wakes); `planned`: part of the test's plan. */
  at(at: number, run: () => Promise<void> | void, planned = false): void {
    const item = { at, seq: this.seq++, run, planned };
    const i = this.events.findIndex((e) => e.at > at);
    if (i < 0) this.events.push(item);
    else this.events.splice(i, 0, item);
  }

  /** Runs `run` after `ms`; `planned`: part of the test's plan. */
  after(ms: number, run: () => Promise<void> | void, planned = false): void {
    this.at(this.clock.now() + ms, run, planned);
  }

  /** Drops the planned events still to come (the device's own life, boots and restarts, goes on). */
  dropPlanned(): void {
    this.events = this.events.filter((e) => !e.planned);
    this.midCrash = null;
  }

  /** Starts an agent process now (if none runs), with the device's current boot id. */
  async start(): Promise<void> {
    if (this.agent) return;
    const proc = new AgentProcess(this.clock, this.model.bootId, ++this.procs, this.counts);
    this.proc = proc;
    this.counts.starts += 1;
    const journalFile = proc.journalFile(this.dir, (text) => {
      this.disk = JSON.parse(text) as DiskJournal;
      this.onJournal(this.disk);
    });
    const agent = buildAgent({
      config: this.config, clock: proc.clock, log: this.log, bootId: proc.bootId, version: '1.0.0', serviceName: OWN_SERVICE,
      supervisor: this.model.port(proc), cloud: this.cloud.port(proc), tags: this.cloud.tagsPort(proc),
      journalFile, random: this.opts.random, checks: { check: () => Promise.resolve(null) },
    });
    this.agent = agent;
    await Promise.race([agent.start(), proc.died]);
    await this.settled();
  }

  /** Starts an agent after `ms`, unless a start is already planned. */
  startAfter(ms: number): void {
    if (this.startPending) return;
    this.startPending = true;
    this.after(ms, async () => {
      this.startPending = false;
      await this.start();
    });
  }

  /** The agent process dies (abandoned without stop); what it had fsynced stays. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    this.agent = undefined;
    await proc?.kill();
  }

  /** The agent crashes now and its container starts it again after `downMs`. */
  async crash(downMs: number): Promise<void> {
    if (!this.agent) return;
    this.counts.crashes += 1;
    await this.kill();
    this.startAfter(downMs);
  }

  /** The agent crashes at its first wake at or after `at`, `rounds` event-loop turns into its work. */
  crashMidWork(at: number, rounds: number, downMs: number): void {
    this.midCrash = { at, rounds, downMs };
  }

  /** The device reboots (asked by the agent, or not): a new boot id, and the agent starts again after the boot. */
  async powerCycle(): Promise<void> {
    this.counts.powerCycles += 1;
    this.model.powerCycle();
    await this.kill();
    this.startAfter(30_000 + Math.floor(this.opts.random() * 90_000));
  }

  /** Waits until the agent has nothing to do until time moves (or it died meanwhile). */
  private async settled(): Promise<void> {
    const { agent, proc } = this;
    if (!agent || !proc) return;
    await Promise.race([agent.idle(), proc.died, this.stuck]);
  }

  private async runDue(): Promise<void> {
    while (this.events[0] !== undefined && this.events[0].at <= this.clock.now()) {
      const event = this.events.shift();
      await event?.run();
      await this.settled();
    }
  }

  /** Moves time forward by `ms`, wake by wake, letting the agent and the world act at each. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    let lastAt = -1;
    let wakesAtOnce = 0;
    for (;;) {
      await this.runDue();
      const sleeper = this.clock.nextAt();
      const event = this.events[0]?.at;
      const next = Math.min(sleeper ?? Infinity, event ?? Infinity);
      if (next > target) break;
      wakesAtOnce = next === lastAt ? wakesAtOnce + 1 : 0;
      lastAt = next;
      if (sleeper === next) this.countWake(next);
      if (wakesAtOnce > MAX_WAKES_AT_ONCE) throw new Error(`the agent woke ${MAX_WAKES_AT_ONCE} times at ${new Date(this.clock.wall()).toISOString()} without time moving (a busy loop)`);
      const mid = this.midCrash !== null && this.agent !== undefined && sleeper === next && next >= this.midCrash.at ? this.midCrash : null;
      // One turn lets the woken work start; settled() then waits until it is done.
      await this.clock.advance(next - this.clock.now(), mid ? mid.rounds : 1);
      if (mid) {
        this.midCrash = null;
        await this.crash(mid.downMs);
      }
      await this.settled();
    }
    await this.clock.advance(target - this.clock.now(), 1);
    await this.runDue();
    await this.settled();
  }

  /** Counts a timer wake at monotonic `mono` in its hour. */
  private countWake(mono: number): void {
    const index = Math.floor(mono / HOUR_MS);
    if (index !== this.hour.index) this.hour = { index, wakes: 0 };
    this.hour.wakes += 1;
    if (this.hour.wakes > this.busiestHour.wakes) this.busiestHour = { wakes: this.hour.wakes, wall: this.clock.wall() + index * HOUR_MS - this.clock.now() };
  }

  /** Abandons the agent and removes the data dir. */
  async close(): Promise<void> {
    clearTimeout(this.stuckTimer);
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
