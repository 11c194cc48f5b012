import PQueue from 'p-queue';
import type { Clock } from '../lib/clock.js';
import { AgentError } from '../lib/errors.js';
import type { Activity } from './activity.js';

/** How urgent a job is: operator commands jump ahead of scheduled work. */
export const PRIORITY = { operator: 10, scheduled: 0 } as const;

/** What a job gets: the stop signal and a clock sleep that does not count as busy. */
export interface JobContext {
  signal: AbortSignal;
  sleep(ms: number): Promise<void>;
}

/** Dependencies of the runner. */
export interface RunnerOptions {
  clock: Clock;
  activity: Activity;
}

/**
 * The exclusive runner: every effect on the supervisor runs here, one at a time (never two
 * mutating calls at once), operator commands before scheduled work; `stop` aborts the running
 * job and drops queued ones.
 */
export class Runner {
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly stopper = new AbortController();
  private readonly keys = new Set<string>();

  constructor(private readonly opts: RunnerOptions) {}

  /** True while a job with this key is queued or running. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Keys of queued or running jobs. */
  active(): ReadonlySet<string> {
    return this.keys;
  }

  /**
   * Queues a job unless one with the same key is already queued or running; resolves when it
   * ends (errors are the job's own business: they are swallowed here and must be handled inside).
   */
  enqueue(key: string, priority: number, job: (ctx: JobContext) => Promise<void>): Promise<void> | undefined {
    if (this.keys.has(key) || this.stopper.signal.aborted) return undefined;
    this.keys.add(key);
    const signal = this.stopper.signal;
    const ctx: JobContext = {
      signal,
      sleep: (ms) => this.opts.activity.sleep(this.opts.clock, ms, signal),
    };
    return this.queue
      .add(() => this.opts.activity.run(() => job(ctx)), { priority, signal })
      .catch(() => undefined)
      .finally(() => this.keys.delete(key));
  }

  /** Aborts the running job and drops queued ones; resolves when the running job has ended. */
  async stop(): Promise<void> {
    this.stopper.abort(new AgentError('ABORTED', 'runner stopped'));
    this.queue.clear();
    await this.queue.onIdle();
  }
}
