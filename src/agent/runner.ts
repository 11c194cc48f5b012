import PQueue from 'p-queue';
import type { Clock } from '../lib/clock.js';
import { AgentError } from '../lib/errors.js';
import type { Activity } from './activity.js';

/** How urgent a job is: operator commands jump ahead of scheduled work. */
export const PRIORITY = { operator: 10, scheduled: 0 } as const;

/** What a job gets: its abort signal (stop or cancel) and a clock sleep that does not count as busy. */
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
 * mutating calls at once), operator commands before scheduled work; `cancel` ends one job's
 * waiting, `stop` aborts the running job and drops queued ones.
 */
export class Runner {
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly stopper = new AbortController();
  private readonly jobs = new Map<string, AbortController>();

  constructor(private readonly opts: RunnerOptions) {}

  /** True while a job with this key is queued or running. */
  has(key: string): boolean {
    return this.jobs.has(key);
  }

  /** Keys of queued or running jobs. */
  active(): ReadonlySet<string> {
    return new Set(this.jobs.keys());
  }

  /**
   * Queues a job unless one with the same key is already queued or running; resolves when it
   * ends (errors are the job's own business: they are swallowed here and must be handled inside).
   */
  enqueue(key: string, priority: number, job: (ctx: JobContext) => Promise<void>): Promise<void> | undefined {
    if (this.jobs.has(key) || this.stopper.signal.aborted) return undefined;
    const own = new AbortController();
    this.jobs.set(key, own);
    const signal = AbortSignal.any([this.stopper.signal, own.signal]);
    const ctx: JobContext = {
      signal,
      sleep: (ms) => this.opts.activity.sleep(this.opts.clock, ms, signal),
    };
    // Only the stop signal goes to the queue: a cancelled job keeps the slot until it returns by
    // itself, so the next job can never start while a cancelled one is still inside a call.
    return this.queue
      .add(() => (own.signal.aborted ? Promise.resolve() : this.opts.activity.run(() => job(ctx))), { priority, signal: this.stopper.signal })
      .catch(() => undefined)
      .finally(() => {
        if (this.jobs.get(key) === own) this.jobs.delete(key);
      });
  }

  /**
   * Cancels one job: a queued one will not start, a running one sees its signal abort (its sleeps
   * end at once; a call in flight is not interrupted). Returns false when no such job exists.
   */
  cancel(key: string): boolean {
    const job = this.jobs.get(key);
    if (!job) return false;
    job.abort(new AgentError('ABORTED', 'job cancelled'));
    return true;
  }

  /** Aborts the running job and drops queued ones; resolves when the running job has ended. */
  async stop(): Promise<void> {
    this.stopper.abort(new AgentError('ABORTED', 'runner stopped'));
    this.queue.clear();
    await this.queue.onIdle();
  }
}
