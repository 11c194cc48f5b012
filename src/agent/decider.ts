/**
 * One decision round: a snapshot of everything the behaviours may look at, each enabled
 * behaviour's pure decide, the behaviours' new states made durable, the admission step, and the
 * dispatcher. It runs after every good poll, at every look of the watchdog, at the reboot
 * schedule's times, and on its own timer — so behaviours act while the device is offline too.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import { admit, type Proposed } from './admission.js';
import type { Behaviour } from './behaviours/behaviour.js';
import { offlineFor } from './behaviours/offline-reboot.js';
import { needsImageIds } from './behaviours/operator.js';
import { rebootBudget } from './budget.js';
import type { CommandDispatch } from './dispatch.js';
import type { Journal } from './journal.js';
import type { Observer } from './observer.js';
import type { CloudPoller } from './poller.js';
import type { Runner } from './runner.js';
import { makeSnapshot, type Snapshot } from './snapshot.js';

/** Dependencies of a decider. */
export interface DeciderOptions {
  behaviours: readonly Behaviour[];
  journal: Journal;
  runner: Runner;
  dispatch: CommandDispatch;
  observer: Observer;
  poller: CloudPoller;
  clock: Clock;
  log: Logger;
  bootId: string;
  ownService: string | undefined;
  config: () => Config;
  /** Monotonic time the agent started. */
  startedAt: () => number;
  /** The device's uuid ('' while unknown) and its app's id. */
  device: () => { uuid: string; appId: number | undefined };
}

/** The longest the decider sleeps when nothing asks it to look sooner. */
export const DECIDE_IDLE_MS = 5 * 60_000;

/** Runs decision rounds. */
export class Decider {
  /** Problems the behaviours reported at the last round (health reasons). */
  problems: readonly string[] = [];
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly opts: DeciderOptions) {}

  /** What the behaviours see now. */
  snapshot(serviceImages: Readonly<Record<string, string>> | null = null): Snapshot {
    const { clock, journal, poller, observer, runner } = this.opts;
    const config = this.opts.config();
    const state: Record<string, unknown> = {};
    for (const b of this.opts.behaviours) state[b.name] = journal.state(b.name);
    return makeSnapshot({
      now: clock.now(),
      wall: clock.wall(),
      config,
      deviceTags: poller.last?.deviceTags ?? {},
      fleetTags: poller.last?.fleetTags ?? {},
      tagsSeen: poller.last !== undefined,
      services: observer.names,
      serviceImages,
      looks: observer.currentLooks(),
      updating: observer.updating,
      journal: journal.entries(),
      inProgress: runner.active(),
      bootId: this.opts.bootId,
      budget: rebootBudget(journal.rebootStamps(), clock.wall(), config.maxRebootsPerDay),
      uuid: this.opts.device().uuid,
      ownService: this.opts.ownService,
      startedAt: this.opts.startedAt(),
      lastContactAt: poller.lastContactAt ?? null,
      lastContactWall: poller.lastContactWall ?? null,
      state,
    });
  }

  /**
   * One round, after any round in progress (the poll, the watchdog's look and the decider's own
   * timer all ask for rounds): two rounds never judge the same snapshot twice. A behaviour that
   * throws is logged and skipped; the others go on.
   */
  round(): Promise<void> {
    const next = this.last.then(() => this.once());
    this.last = next.catch(() => undefined);
    return next;
  }

  private async once(): Promise<void> {
    const { log, observer, journal } = this.opts;
    let snapshot = this.snapshot();
    if (observer.names !== null && needsImageIds(snapshot)) snapshot = this.snapshot(await observer.imageIds(this.opts.device().appId));
    const proposed: Proposed[] = [];
    const states: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const behaviour of this.opts.behaviours) {
      if (!behaviour.enabled(snapshot)) {
        // Switched off: what it left waiting is withdrawn (the operator's tags are only unknown yet).
        // Only once this process has read the tags: before, a behaviour switched on by a live tag,
        // or one that needs the device's uuid, looks off, and a deferred reboot would be lost.
        if (behaviour.name !== 'operator' && snapshot.tagsSeen) proposed.push({ behaviour: { name: behaviour.name, level: true }, proposals: [], off: true });
        continue;
      }
      try {
        const decision = behaviour.decide(snapshot);
        proposed.push({ behaviour, proposals: decision.proposals });
        if ('state' in decision) states[behaviour.name] = decision.state;
        problems.push(...(decision.problems ?? []));
      } catch (err) {
        log.error({ err, behaviour: behaviour.name }, 'behaviour failed to decide; skipped this round');
        problems.push(`${behaviour.name}: failed to decide (see the log)`);
      }
    }
    this.problems = problems;
    if (Object.keys(states).length > 0) {
      try {
        // Durable before anything runs: what a behaviour remembers must never lag what it did.
        await journal.setStates(states);
      } catch (err) {
        log.error({ err }, 'cannot persist the behaviours\' state; nothing runs this round');
        return;
      }
    }
    const actions = admit(snapshot, proposed);
    await this.opts.dispatch.dispatchAll(actions);
    if (actions.length > 0) log.debug({ actions: actions.map((a) => `${a.kind} ${a.command} ${a.token}`) }, 'decided');
  }

  /**
   * How long until the decider must look again by itself: an offline deadline still ahead, a
   * reboot budget released; at most DECIDE_IDLE_MS. A deadline already passed was decided on (the
   * period's reboot ran, or waits for the budget): it does not make every round follow at once.
   */
  idleMs(): number {
    const s = this.snapshot();
    let wait = DECIDE_IDLE_MS;
    const limit = s.config.offlineRebootMs;
    const left = limit === null ? 0 : limit - offlineFor(s);
    if (left > 0) wait = Math.min(wait, left);
    if (s.budget.releaseAtWall !== null && s.journal.some((e) => e.state === 'deferred')) wait = Math.min(wait, s.budget.releaseAtWall - s.wall);
    return Math.max(1_000, wait);
  }
}
