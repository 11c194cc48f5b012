/**
 * The effect's retry policy, pure: given how a supervisor call ended, what happens next. effect.ts
 * does the I/O and follows these answers; the tables of test/unit/agent-policy.test.ts pin them.
 *
 * | how the call ended | destructive command | harmless command |
 * |---|---|---|
 * | 2xx | `done` (power: watch for the new boot) | `done` |
 * | 423 (lock), lock wait not over | retry after the lock backoff, nothing in flight | same |
 * | 423, lock wait over | `blocked` | `blocked` |
 * | unreachable, certainly never arrived (connection refused) | retry after the down backoff | same |
 * | unreachable or timeout, may have arrived | watch for evidence (never resent) | retry after the down backoff |
 * | unreadable or oversized reply | watch for evidence | `failed` |
 * | 5xx | `failed`, not repeated | retried SERVER_ERROR_TRIES times, then `failed` |
 * | cut short by the agent's own stop | leave the entry as it is: the next process watches | same |
 * | anything else (400, 401, 404…) | `failed` | `failed` |
 */
import { exponential, fullJitter } from '../lib/backoff.js';
import type { CommandSpec } from './commands.js';

/** First and longest pause between retries on a held update lock. */
export const LOCK_BACKOFF = { baseMs: 15_000, maxMs: 5 * 60_000 } as const;
/** First and longest pause between retries while the supervisor is unreachable or answers 5xx. */
export const UNREACHABLE_BACKOFF = { baseMs: 2_000, maxMs: 60_000 } as const;
/** How many times a harmless command is tried while the supervisor answers 5xx. */
export const SERVER_ERROR_TRIES = 5;

/** How a supervisor call ended, as the policy needs to know it. */
export type Outcome =
  | { ok: true; detail: string }
  | {
    ok: false;
    /** The error's stable code (AgentError), `INTERNAL` for anything else. */
    code: string;
    /** For UNREACHABLE: false only when the request certainly never left (connection refused). */
    mayHaveArrived: boolean;
    /** The error as one line for the ack. */
    message: string;
    /** The supervisor's lock message, for a 423. */
    lock?: string;
    /** The agent is stopping (the call was cut by its own stop). */
    stopping: boolean;
  };

/** What the effect has been through so far for this token. */
export interface Progress {
  lockTries: number;
  downTries: number;
  serverErrors: number;
  /** How long the command has waited on locks (from its acceptance). */
  lockWaitedMs: number;
  /** AGENT_LOCK_WAIT now. */
  lockWaitMs: number;
}

/** What to do next. `retry` leaves nothing in flight (a stamp in the reboot budget is taken back). */
export type Step =
  | { next: 'done'; detail: string }
  | { next: 'await-boot' }
  | { next: 'watch'; reason: string }
  | { next: 'retry'; waitMs: number; detail: string; count: 'lockTries' | 'downTries' | 'serverErrors' }
  | { next: 'failed'; detail: string }
  | { next: 'blocked'; detail: string }
  | { next: 'leave' };

/**
 * The next step after a call. `jitter` is a number in [0, 1) (the caller's random source), so the
 * answer is a function of its inputs.
 */
export function nextStep(spec: Pick<CommandSpec, 'destructive' | 'power'>, outcome: Outcome, progress: Progress, jitter: number): Step {
  if (outcome.ok) return spec.power ? { next: 'await-boot' } : { next: 'done', detail: outcome.detail };
  const { code } = outcome;
  if (code === 'ABORTED' && outcome.stopping) return { next: 'leave' };
  const down = (): number => Math.max(1_000, fullJitter(progress.downTries, { ...UNREACHABLE_BACKOFF, random: () => jitter }));
  if (code === 'LOCKED') {
    const lock = outcome.lock || 'update lock held';
    if (progress.lockWaitedMs >= progress.lockWaitMs) {
      return { next: 'blocked', detail: `${lock}; gave up after waiting ${Math.round(progress.lockWaitedMs / 1000)} s (set force to override)` };
    }
    const waitMs = Math.min(exponential(progress.lockTries, LOCK_BACKOFF), progress.lockWaitMs - progress.lockWaitedMs);
    return { next: 'retry', waitMs, detail: `${lock}; retrying until the lock wait ends`, count: 'lockTries' };
  }
  if (code === 'UNREACHABLE' || code === 'TIMEOUT') {
    const neverArrived = code === 'UNREACHABLE' && !outcome.mayHaveArrived;
    if (!spec.destructive || neverArrived) return { next: 'retry', waitMs: down(), detail: 'supervisor unreachable; retrying', count: 'downTries' };
    return { next: 'watch', reason: 'no answer from the supervisor' };
  }
  if ((code === 'BAD_RESPONSE' || code === 'TOO_LARGE') && spec.destructive) return { next: 'watch', reason: 'unreadable reply from the supervisor' };
  if (code === 'SERVER_ERROR' && !spec.destructive && progress.serverErrors + 1 < SERVER_ERROR_TRIES) {
    return { next: 'retry', waitMs: down(), detail: `${outcome.message}; retrying`, count: 'serverErrors' };
  }
  const tail = spec.destructive ? '; not repeated (set a new token to try again)' : '';
  return { next: 'failed', detail: `${outcome.message}${tail}` };
}
