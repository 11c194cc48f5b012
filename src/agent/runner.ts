import PQueue from 'p-queue';
import type { Clock } from '../lib/clock.js';
import { AgentError } from '../lib/errors.js';
import type { Activity } from './activity.js';

/** How urgent a job is (a higher priority takes the slot first). */
export const PRIORITY = { operator: 10, behaviour: 5 } as const;

/**
 * What a job gets: its abort signal (stop or cancel) and a clock sleep that does not count as
 * busy. A sleep that ends by abort throws without the slot: the job must then return, calling nothing.
 */
export interface JobContext {
  signal: AbortSignal;
  /** Aborts only when the runner stops (not on cancel). */
  stopSignal: AbortSignal;
  /** `untilStop`: only stopping the runner ends the sleep early, a cancel does not. */
  sleep(ms: number, opts?: { untilStop?: boolean }): Promise<void>;
}

/** Dependencies of the runner. */
export interface RunnerOptions {
  clock: Clock;
  activity: Activity;
}

/**
 * The exclusive runner: every effect on the supervisor runs here, one at a time (never two
 * mutating calls at once), operator commands before scheduled work. A job holds the one slot
 * except while it sleeps (a retry backoff), so a long lock wait never holds up other commands.
 * `cancel` ends one job's waiting, `stop` aborts the running job and drops queued ones.
 */
export class Runner {
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly stopper = new AbortController();
  private readonly jobs = new Map<string, AbortController>();
  /** Keys of jobs that `cancel` leaves alone. */
  private readonly steadfast = new Set<string>();

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
  enqueue(key: string, priority: number, job: (ctx: JobContext) => Promise<void>, opts: { cancellable?: boolean } = {}): Promise<void> | undefined {
    if (this.jobs.has(key) || this.stopper.signal.aborted) return undefined;
    const own = new AbortController();
    this.jobs.set(key, own);
    if (opts.cancellable === false) this.steadfast.add(key);
    const signal = AbortSignal.any([this.stopper.signal, own.signal]);
    let release: (() => void) | undefined;
    // Takes the one slot: resolves once every job ahead (by priority, then order) has let go of it.
    // Only the stop signal goes to the queue: a cancelled job keeps its turn and returns by itself,
    // so nothing else can start while a cancelled job is still inside a call.
    const acquire = (): Promise<void> =>
      new Promise<void>((granted, refused) => {
        this.queue
          .add(() => new Promise<void>((done) => {
            release = done;
            granted();
          }), { priority, signal: this.stopper.signal })
          .catch(refused);
      });
    const letGo = (): void => {
      release?.();
      release = undefined;
    };
    const ctx: JobContext = {
      signal,
      stopSignal: this.stopper.signal,
      // A sleeping job lets others run (a lock wait must not hold up other commands) and queues
      // for the slot again when it wakes.
      sleep: async (ms, opts) => {
        letGo();
        await this.opts.activity.sleep(this.opts.clock, ms, opts?.untilStop === true ? this.stopper.signal : signal);
        await acquire();
      },
    };
    const run = async (): Promise<void> => {
      await acquire();
      try {
        if (!own.signal.aborted) await this.opts.activity.run(() => job(ctx));
      } finally {
        letGo();
      }
    };
    return run()
      .catch(() => undefined)
      .finally(() => {
        if (this.jobs.get(key) === own) {
          this.jobs.delete(key);
          this.steadfast.delete(key);
        }
      });
  }

  /**
   * Cancels one job: a queued one will not start, a running one sees its signal abort (its sleeps
   * end at once; a call in flight is not interrupted). Returns false when no such job exists or
   * it was queued as not cancellable (a watch for evidence: it sends nothing and must end).
   */
  cancel(key: string): boolean {
    const job = this.jobs.get(key);
    if (!job || this.steadfast.has(key)) return false;
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
