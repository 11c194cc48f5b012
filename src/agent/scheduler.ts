import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { AgentError } from '../lib/errors.js';
import { Activity } from './activity.js';

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
