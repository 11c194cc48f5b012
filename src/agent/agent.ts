import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { AgentError, HttpError, describe } from '../lib/errors.js';
import type { Config } from '../config/schema.js';
import { applyLive } from '../config/live.js';
import { ackTags } from './acks.js';
import { Activity } from './activity.js';
import { decide, needsImageIds } from './behaviours/commands.js';
import { rebootBudget } from './budget.js';
import { CommandDispatch } from './dispatch.js';
import { assessHealth, healthDetail, healthzVerdict, type Health, type Healthz } from './health.js';
import { inactiveTags } from './inactive.js';
import { Journal, type JournalEntry, type JournalFile } from './journal.js';
import type { CloudPort, SupervisorPort, TagsPort } from './ports.js';
import { Reporter } from './reporter.js';
import { Runner } from './runner.js';
import { Scheduler } from './scheduler.js';
import { makeSnapshot } from './snapshot.js';
import { buildStatus, type AgentStatus } from './status.js';

/** Dependencies of the agent. */
export interface AgentOptions {
  /** Settings from the environment; live tags are applied on top at every poll. */
  config: Config;
  clock: Clock;
  log: Logger;
  supervisor: SupervisorPort;
  cloud: CloudPort;
  tags: TagsPort;
  /** The kernel boot id now (read from config.bootIdPath by the caller). */
  bootId: string;
  /** The agent's version, reported in `<prefix>version`. */
  version: string;
  /** BALENA_SERVICE_NAME: a restart of this service restarts the agent itself. */
  serviceName?: string;
  /** The journal's file (default: atomic files in config.dataDir); tests inject failing writes. */
  journalFile?: JournalFile;
  random?: () => number;
  /** Problems found while starting the process around the agent (e.g. the local HTTP server). */
  localProblems?: () => readonly string[];
}

/** Longest a graceful stop may take before the agent gives up waiting for a running call. */
export const STOP_TIMEOUT_MS = 6_000;
/** How often an idle report loop looks whether health changed with time alone. */
export const REPORT_IDLE_MS = 60_000;
/** Longest the last write of pending acks may take at stop (the engine kills after 10 s). */
export const FINAL_FLUSH_MS = 3_000;

/** The agent: polls the cloud, runs operator commands exactly once, reports its health. */
export class Agent {
  private readonly activity = new Activity();
  private readonly scheduler: Scheduler;
  private readonly runner: Runner;
  private readonly journal: Journal;
  private readonly reporter: Reporter;
  private readonly commands: CommandDispatch;
  private config: Config;
  private problems: readonly string[] = [];
  private startedAt = 0;
  private lastGoodPollAt: number | undefined;
  private lastGoodPollWall: number | undefined;
  private lastPollError: string | undefined;
  private inactiveFromTags = '';
  /** Monotonic time the next poll is due (set when it is scheduled). */
  private pollDueAt = 0;
  private failures = 0;
  private retryAfterMs = 0;
  private deviceKeyRejected = false;
  private supervisorReachable: boolean | undefined;
  private supervisorProblem: string | undefined;
  private seeded = false;
  /** The journal or the tag prefix may have changed since the ack tags were last built. */
  private acksDirty = false;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: AgentOptions) {
    this.config = opts.config;
    this.scheduler = new Scheduler({ clock: opts.clock, log: opts.log, activity: this.activity });
    this.runner = new Runner({ clock: opts.clock, activity: this.activity });
    this.journal = new Journal({
      dir: opts.config.dataDir, clock: opts.clock, ...(opts.journalFile ? { store: opts.journalFile } : {}),
    });
    this.reporter = new Reporter({ tags: opts.tags, clock: opts.clock, log: opts.log, minIntervalMs: 10_000, random: this.random });
    this.commands = new CommandDispatch({
      journal: this.journal, runner: this.runner, supervisor: opts.supervisor, clock: opts.clock, log: opts.log, bootId: opts.bootId,
      ownService: opts.serviceName, random: this.random, config: () => this.config, changed: (dropped) => this.changed(dropped),
      recordInCloud: (entry) => this.recordInCloud(entry),
    });
  }

  private get random(): () => number {
    return this.opts.random ?? Math.random;
  }

  /** Loads and reconciles the journal, then starts polling after the random start spread. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { clock, log } = this.opts;
    this.startedAt = clock.now();
    const loaded = await this.journal.load();
    if (loaded === 'corrupt') log.warn({ aside: this.journal.quarantined }, 'journal was corrupt; kept aside, rebuilding from ack tags');
    const changes = await this.journal.reconcile(this.opts.bootId).catch((err: unknown) => {
      log.error({ err }, 'cannot persist the reconciled journal');
      return [];
    });
    for (const c of changes) log.info(c, 'reconciled a command after restart');
    // Proves the data folder is writable now rather than at the first command (health says so).
    await this.journal.persist().catch((err: unknown) => log.error({ err }, 'the journal is not writable'));
    this.refreshAcks();
    // Calls a killed process left without an answer: watched for their evidence, never resent.
    for (const e of this.journal.unsettled()) {
      await this.commands.dispatch({ kind: 'watch', command: e.command, token: e.token, force: e.force, services: e.services });
    }
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    const spread = Math.floor(this.random() * this.config.startSpreadMs);
    this.pollDueAt = this.startedAt + spread;
    this.scheduler.every('poll', { initialDelayMs: spread, intervalMs: () => this.scheduleNextPoll() }, (s) => this.poll(s));
    // Idle, the report loop looks once a minute (health that changes with time alone); a change
    // wakes it at once (runNow), so a quiet device wakes 6 times an hour for it, not 360.
    this.scheduler.every('report', { initialDelayMs: spread, intervalMs: () => this.reporter.delayMs(REPORT_IDLE_MS) }, () => this.report());
  }

  /**
   * Stops every task within STOP_TIMEOUT_MS (a supervisor call in flight is not waited for
   * longer), then writes the acks still pending, at once, for at most FINAL_FLUSH_MS: what a
   * stop would otherwise lose is what the next process needs to know.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.within(STOP_TIMEOUT_MS, Promise.allSettled([this.scheduler.stop(), this.runner.stop()]));
      if (!this.started) return;
      if (this.acksDirty) this.refreshAcks();
      await this.within(FINAL_FLUSH_MS, this.reporter.flush({ now: true }).catch(() => false));
    })();
    return this.stopping;
  }

  private async within(ms: number, work: Promise<unknown>): Promise<void> {
    const timer = new AbortController();
    await Promise.race([work, this.opts.clock.sleep(ms, timer.signal).catch(() => undefined)]);
    timer.abort();
  }

  /** Writes an entry's ack straight to the cloud and waits for it (before a purge; see evidence.ts). */
  private async recordInCloud(entry: JournalEntry): Promise<void> {
    const acks = ackTags([entry], this.config.tagPrefix);
    await this.opts.tags.setInCloud(acks);
    this.reporter.markWritten(acks);
  }

  /** Polls now instead of waiting for the interval. */
  pollNow(): void {
    this.scheduler.runNow('poll');
  }

  /** Resolves when no task or command is running (sleeping ones do not count). */
  idle(): Promise<void> {
    return this.activity.idle();
  }

  /** The configuration in effect (environment plus live tags). */
  effectiveConfig(): Config {
    return this.config;
  }

  /** The health verdict now. */
  health(): Health {
    return assessHealth({
      now: this.opts.clock.now(),
      startedAt: this.startedAt,
      lastGoodPollAt: this.lastGoodPollAt,
      pollIntervalMs: this.config.pollIntervalMs,
      startSpreadMs: this.config.startSpreadMs,
      supervisorReachable: this.supervisorReachable,
      supervisorProblem: this.supervisorProblem,
      journalWritable: this.journal.writable,
      configProblems: this.problems,
      localProblems: this.opts.localProblems?.() ?? [],
      deviceKeyRejected: this.deviceKeyRejected,
      cloudHoldMs: Math.max(0, (this.opts.cloud.notBefore?.() ?? 0) - this.opts.clock.now()),
    });
  }

  /** What /healthz (the image's HEALTHCHECK) answers: fails only when the poll loop is stuck (see healthzVerdict). */
  healthz(): Healthz {
    const overdueMs = this.started ? this.opts.clock.now() - this.pollDueAt : 0;
    return healthzVerdict(this.health(), overdueMs, this.config.pollIntervalMs);
  }

  /** The status document of /status (no secrets). */
  status(): AgentStatus {
    const wall = this.opts.clock.wall();
    return buildStatus({
      health: this.health(),
      version: this.opts.version,
      config: this.config,
      lastGoodPollWall: this.lastGoodPollWall,
      lastPollError: this.lastPollError,
      failures: this.failures,
      supervisorReachable: this.supervisorReachable,
      entries: this.journal.entries(),
      journalPath: this.journal.path,
      journalWritable: this.journal.writable,
      budget: rebootBudget(this.journal.rebootStamps(), wall, this.config.maxRebootsPerDay),
    });
  }

  /** Logs (once per change) live tags that set a setting this version does not act on yet. */
  private warnInactive(sources: Partial<Record<keyof Config, string>>): void {
    const fromTags = inactiveTags(sources, this.config.tagPrefix).join(',');
    if (fromTags !== this.inactiveFromTags && fromTags) {
      this.opts.log.warn({ settings: fromTags.split(',') }, `config tags set settings not active in this version (accepted, no effect): ${fromTags}`);
    }
    this.inactiveFromTags = fromTags;
  }

  /** The delay before the next poll, remembered so healthz can tell a stuck loop. */
  private scheduleNextPoll(): number {
    const delay = this.nextPollDelay();
    this.pollDueAt = this.opts.clock.now() + delay;
    return delay;
  }

  private nextPollDelay(): number {
    const interval = this.config.pollIntervalMs;
    // Each poll ±20 % of the interval (the mean stays one interval): a fleet that booted together
    // drifts apart within a few polls instead of polling in step. An outage keeps that rhythm: the
    // fleet asks no more often than usual while the cloud is down, and comes back spread as it was
    // (retrying sooner would bunch every device's first poll after the outage). A rejected key
    // backs off further.
    const steady = Math.floor(interval * (0.8 + 0.4 * this.random()));
    if (this.failures === 0) return steady;
    const base = this.deviceKeyRejected ? Math.min(interval * 2 ** Math.min(this.failures - 1, 6), Math.max(interval, 3_600_000)) : steady;
    // After a Retry-After, a random part of an interval more: a fleet told one instant returns spread.
    return Math.max(base, this.retryAfterMs > 0 ? this.retryAfterMs + Math.floor(interval * this.random()) : 0);
  }

  private async poll(signal: AbortSignal): Promise<void> {
    const { clock, log } = this.opts;
    let result;
    try {
      result = await this.opts.cloud.poll({ tagPrefix: this.config.tagPrefix, signal });
    } catch (err) {
      if (signal.aborted) return;
      this.failures += 1;
      this.lastPollError = describe(err);
      const code = (err as { code?: string }).code;
      this.deviceKeyRejected = code === 'UNAUTHORIZED' || code === 'FORBIDDEN';
      this.retryAfterMs = err instanceof HttpError ? (err.retryAfterMs ?? 0) : 0;
      log.warn({ err, failures: this.failures }, 'cloud poll failed');
      this.scheduler.runNow('report');
      return;
    }
    if (!this.journal.writable) {
      // Nothing else may write for a while: probe, so health clears as soon as the disk has room.
      await this.journal.persist().catch(() => undefined);
    }
    this.failures = 0;
    this.retryAfterMs = 0;
    this.deviceKeyRejected = false;
    this.lastPollError = undefined;
    this.lastGoodPollAt = clock.now();
    this.lastGoodPollWall = clock.wall();
    if (!this.seeded) {
      this.reporter.seed(result.deviceTags);
      this.seeded = true;
    }
    const live = applyLive(this.opts.config, result.deviceTags, result.fleetTags, this.config);
    if (live.config.logLevel !== this.config.logLevel) {
      log.info({ from: this.config.logLevel, to: live.config.logLevel }, 'log level changed by tag');
      log.level = live.config.logLevel;
    }
    this.config = live.config;
    // The prefix (here) and the journal (imported acks, below) may change: should the poll end
    // early, the next report rebuilds the ack tags.
    this.acksDirty = true;
    this.problems = live.problems;
    this.warnInactive(live.sources);
    try {
      await this.journal.importAcks(result.deviceTags, this.config.tagPrefix, this.opts.bootId);
    } catch (err) {
      log.error({ err }, 'cannot persist tokens rebuilt from ack tags');
    }
    this.acksDirty = true;
    const services = await this.readServices(result.device.appId);
    let snapshot = makeSnapshot({
      now: clock.now(),
      wall: clock.wall(),
      config: this.config,
      deviceTags: result.deviceTags,
      fleetTags: result.fleetTags,
      services,
      serviceImages: null,
      journal: this.journal.entries(),
      inProgress: this.runner.active(),
      bootId: this.opts.bootId,
      budget: rebootBudget(this.journal.rebootStamps(), clock.wall(), this.config.maxRebootsPerDay),
    });
    if (services !== null && needsImageIds(snapshot)) snapshot = makeSnapshot({ ...snapshot, serviceImages: await this.readImageIds(result.device.appId) });
    const actions = decide(snapshot);
    await this.commands.dispatchAll(actions);
    log.debug({ actions: actions.map((a) => `${a.kind} ${a.command} ${a.token}`) }, 'poll complete');
    this.refreshAcks();
    this.scheduler.runNow('report');
  }

  private async readServices(appId: number): Promise<string[] | null> {
    try {
      const apps = Object.values(await this.opts.supervisor.applicationsState());
      this.supervisorReachable = true;
      this.supervisorProblem = undefined;
      const app = apps.find((a) => a.appId === appId) ?? (apps.length === 1 ? apps[0] : undefined);
      return app ? Object.keys(app.services) : null;
    } catch (err) {
      const code = err instanceof AgentError ? err.code : 'INTERNAL';
      this.supervisorReachable = !(code === 'UNREACHABLE' || code === 'TIMEOUT');
      this.supervisorProblem = !this.supervisorReachable
        ? undefined
        : code === 'UNAUTHORIZED' || code === 'FORBIDDEN'
          ? 'supervisor rejected the API key'
          : err instanceof HttpError
            ? `supervisor answers HTTP ${err.status}`
            : 'supervisor answers unreadable state';
      this.opts.log.warn({ err }, 'cannot read the supervisor state');
      return null;
    }
  }

  /**
   * The app's image ids to service names, from GET /v2/state/status: empty where the supervisor has
   * no such route (404: a tag naming an id is then rejected), null when it fails otherwise (the tag
   * waits for a later poll, and the log says why).
   */
  private async readImageIds(appId: number): Promise<Record<string, string> | null> {
    try {
      const status = await this.opts.supervisor.stateStatus();
      const ids: Record<string, string> = {};
      for (const i of [...status.images, ...status.containers]) if (i.appId === appId) ids[String(i.imageId)] = i.serviceName;
      return ids;
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return {};
      this.opts.log.warn({ err }, 'cannot read image ids from the supervisor; a tag naming a service by image id waits');
      return null;
    }
  }

  private changed(dropped: readonly JournalEntry[] = []): void {
    this.refreshAcks();
    // Acks whose entries the journal did not keep: the ack tag is their only record.
    if (dropped.length > 0) this.reporter.update(ackTags(dropped, this.config.tagPrefix));
    this.scheduler.runNow('report');
  }

  /** Each command's ack shows its most recently changed token (change order, not wall time). */
  private refreshAcks(): void {
    this.acksDirty = false;
    this.reporter.update(ackTags(this.journal.latest().values(), this.config.tagPrefix));
  }

  private async report(): Promise<void> {
    if (this.acksDirty) this.refreshAcks();
    if (this.config.report) {
      const h = this.health();
      const p = this.config.tagPrefix;
      this.reporter.update({ [`${p}health`]: h.state, [`${p}health.detail`]: healthDetail(h.reasons) || 'ok', [`${p}version`]: this.opts.version });
    }
    await this.reporter.flush();
  }
}
