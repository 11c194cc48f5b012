import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { fullJitter, type BackoffOptions } from '../lib/backoff.js';
import { AgentError } from '../lib/errors.js';
import { Activity } from './activity.js';

/**
 * The longest an `at` task sleeps before it looks at the wall clock again: a clock stepped by NTP
 * (either way) or a schedule changed by a live tag is noticed within this.
 */
export const AT_RECHECK_MS = 60_000;

/** When a periodic task runs: the interval is read before every sleep, so live settings apply. */
export interface Every {
  intervalMs: () => number;
  initialDelayMs: number;
}

/** A periodic task; `signal` aborts when the scheduler stops. */
export type Task = (signal: AbortSignal) => Promise<void>;

interface Entry {
  name: string;
  every: Every;
  task: Task;
  running: boolean;
  again: boolean;
  wake: AbortController | null;
  loop: Promise<void> | null;
  /** Aborted by `remove` (a service only). */
  end?: AbortController;
}

/** Dependencies of the scheduler. */
export interface SchedulerOptions {
  clock: Clock;
  log?: Pick<Logger, 'warn' | 'debug'>;
  activity?: Activity;
}

/**
 * The one owner of every timer: runs each named task after its initial delay, then every
 * `intervalMs()`; never overlaps runs of one task; `runNow` wakes a task (coalescing requests
 * made while it runs into one more run); `stop` aborts every sleep and running task.
 */
export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly stopper = new AbortController();
  readonly activity: Activity;

  constructor(private readonly opts: SchedulerOptions) {
    this.activity = opts.activity ?? new Activity();
  }

  /** Registers and starts a periodic task. */
  every(name: string, every: Every, task: Task): void {
    if (this.entries.has(name)) throw new AgentError('INTERNAL', `task ${name} is already scheduled`);
    if (this.stopper.signal.aborted) return;
    const entry: Entry = { name, every, task, running: false, again: false, wake: null, loop: null };
    this.entries.set(name, entry);
    entry.loop = this.loop(entry);
  }

  /**
   * Registers a task that runs at wall-clock instants: `when()` gives the next one (asked again
   * before every sleep, so a live change applies; null: none now) — for the reboot schedule, the
   * next cron slot in `TZ` plus the device's offset (behaviours/reboot-schedule.ts, with croner).
   * It sleeps at most AT_RECHECK_MS at a time and fires once the wall clock has reached the
   * instant it waited for: a clock stepped forward fires it (once, however many instants were
   * skipped); one stepped back never fires an instant it already fired.
   */
  at(name: string, when: () => number | null, task: Task): void {
    let due: number | null = null;
    let fired = -Infinity;
    const delay = (): number => {
      const wall = this.opts.clock.wall();
      due = when();
      // An instant already fired (asked again, e.g. by a `when` that lags the clock) is not a new one.
      if (due !== null && due <= fired) due = null;
      return due === null ? AT_RECHECK_MS : Math.max(0, Math.min(due - wall, AT_RECHECK_MS));
    };
    this.every(name, { initialDelayMs: delay(), intervalMs: delay }, async (signal) => {
      // Woken for a recheck, not a firing: nothing to run yet.
      if (due === null || this.opts.clock.wall() < due) return;
      fired = due;
      due = null;
      await task(signal);
    });
  }

  /**
   * Runs a long-lived task (a stream) that `idle()` does not wait for: when it ends or fails, it is
   * started again after a backoff (reset once a run lasted a minute); `stop` aborts it.
   */
  service(name: string, run: Task, backoff: BackoffOptions): void {
    if (this.entries.has(name)) throw new AgentError('INTERNAL', `task ${name} is already scheduled`);
    if (this.stopper.signal.aborted) return;
    const end = new AbortController();
    const entry: Entry = { name, every: { initialDelayMs: 0, intervalMs: () => 0 }, task: run, running: false, again: false, wake: null, loop: null, end };
    this.entries.set(name, entry);
    entry.loop = (async () => {
      const stop = AbortSignal.any([this.stopper.signal, end.signal]);
      let tries = 0;
      while (!stop.aborted) {
        const began = this.opts.clock.now();
        entry.running = true;
        try {
          await run(stop);
        } catch (err) {
          if (!stop.aborted) this.opts.log?.warn({ err, task: name }, 'long-lived task failed; starting it again');
        } finally {
          entry.running = false;
        }
        if (stop.aborted) break;
        if (this.opts.clock.now() - began >= 60_000) tries = 0;
        await this.nap(entry, Math.max(backoff.baseMs, fullJitter(tries++, backoff)));
      }
    })();
  }

  /** Ends a long-lived task (aborts its run and its backoff) and waits for it; the name may be used again. */
  async remove(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry?.end) return;
    entry.end.abort(new AgentError('ABORTED', `task ${name} removed`));
    entry.wake?.abort();
    await entry.loop;
    this.entries.delete(name);
  }

  /** Wakes a task now; if it is running, it runs once more right after (requests coalesce). */
  runNow(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    if (entry.running) entry.again = true;
    else entry.wake?.abort();
  }

  /** Resolves when no task (nor other work counted by the shared activity) is running. */
  idle(): Promise<void> {
    return this.activity.idle();
  }

  /** Aborts every sleep and running task and waits for the loops to end. */
  async stop(): Promise<void> {
    this.stopper.abort(new AgentError('ABORTED', 'scheduler stopped'));
    for (const entry of this.entries.values()) entry.wake?.abort();
    await Promise.allSettled([...this.entries.values()].map((e) => e.loop ?? Promise.resolve()));
  }

  private async nap(entry: Entry, ms: number): Promise<void> {
    if (ms <= 0) return;
    const wake = new AbortController();
    entry.wake = wake;
    const signal = AbortSignal.any([wake.signal, this.stopper.signal]);
    try {
      await this.opts.clock.sleep(Math.max(0, ms), signal);
    } catch {
      // woken early by runNow or stop
    } finally {
      entry.wake = null;
    }
  }

  private async loop(entry: Entry): Promise<void> {
    const stop = this.stopper.signal;
    await this.nap(entry, entry.every.initialDelayMs);
    while (!stop.aborted) {
      entry.running = true;
      entry.again = false;
      this.activity.enter();
      try {
        await entry.task(stop);
      } catch (err) {
        if (!stop.aborted) this.opts.log?.warn({ err, task: entry.name }, 'scheduled task failed');
      } finally {
        entry.running = false;
        this.activity.leave();
      }
      if (stop.aborted) break;
      if (entry.again) continue;
      await this.nap(entry, entry.every.intervalMs());
    }
  }
}
