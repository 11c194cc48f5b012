/**
 * Runs one command's effect with its intent persisted first, 423 retried until the lock wait ends,
 * an unreachable supervisor waited out, and no destructive call ever repeated once it may have
 * reached the supervisor (see journal.ts).
 */
import { exponential, fullJitter } from '../lib/backoff.js';
import { AgentError, UnreachableError, UpdatesLockedError, describe } from '../lib/errors.js';
import type { CommandRef, ExecContext } from './actions.js';
import type { JournalEntry } from './journal.js';

/** How one command's effect behaves. */
export interface EffectSpec {
  /** Must never happen twice for one token. */
  destructive: boolean;
  /** reboot/shutdown: `done` only after a new boot id is seen. */
  awaitsBoot?: boolean;
  /** The supervisor call; may resolve to a detail for the `done` ack. */
  call: (force: boolean) => Promise<unknown>;
}

/** First and longest pause between retries on a held update lock. */
export const LOCK_BACKOFF = { baseMs: 15_000, maxMs: 5 * 60_000 } as const;
/** First and longest pause between retries while the supervisor is unreachable. */
export const UNREACHABLE_BACKOFF = { baseMs: 2_000, maxMs: 60_000 } as const;

function codeOf(err: unknown): string {
  return err instanceof AgentError ? err.code : 'INTERNAL';
}

/** Executes `spec` for `action`; every state change is persisted, then reported through `ctx.changed`. */
export async function runEffect(ctx: ExecContext, action: CommandRef, spec: EffectSpec): Promise<void> {
  const wall = ctx.clock.wall();
  const old = ctx.journal.get(action.command, action.token);
  let entry: JournalEntry = {
    command: action.command, token: action.token, state: 'accepted', detail: '', bootId: ctx.bootId,
    attempts: old?.attempts ?? 0, sending: false, force: action.force, services: action.services,
    createdAt: old?.createdAt ?? wall, updatedAt: wall,
  };
  const save = async (change: Partial<JournalEntry>, reboot?: 'add' | 'remove'): Promise<void> => {
    entry = { ...entry, ...change };
    await ctx.journal.put(entry, reboot);
    ctx.changed(ctx.journal.get(entry.command, entry.token) ?? entry);
  };
  const started = ctx.clock.now();
  let lockTries = 0;
  let downTries = 0;
  const stamp = spec.awaitsBoot === true;
  while (!ctx.signal.aborted) {
    // The intent, persisted before the call. If this write fails, nothing is sent.
    await save({ state: 'running', sending: true, attempts: entry.attempts + 1, bootId: ctx.bootId }, stamp ? 'add' : undefined);
    let outcome: unknown;
    try {
      outcome = await spec.call(action.force);
    } catch (err) {
      const code = codeOf(err);
      if (code === 'LOCKED') {
        const lock = err instanceof UpdatesLockedError && err.lockMessage ? err.lockMessage : 'update lock held';
        const waited = ctx.clock.now() - started;
        const wait = ctx.config().lockWaitMs;
        if (waited >= wait) {
          await save({ state: 'blocked', sending: false, detail: `${lock}; gave up after waiting ${Math.round(waited / 1000)} s (set force to override)` }, stamp ? 'remove' : undefined);
          return;
        }
        await save({ sending: false, detail: `${lock}; retrying until the lock wait ends` }, stamp ? 'remove' : undefined);
        await ctx.sleep(Math.min(exponential(lockTries++, LOCK_BACKOFF), wait - waited));
        continue;
      }
      // A destructive call is retried only when it certainly never reached the supervisor.
      const neverArrived = err instanceof UnreachableError && !err.mayHaveArrived;
      if (code === 'UNREACHABLE' || code === 'TIMEOUT') {
        if (!spec.destructive || neverArrived) {
          await save({ sending: false, detail: 'supervisor unreachable; retrying' }, stamp ? 'remove' : undefined);
          await ctx.sleep(Math.max(1_000, fullJitter(downTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random })));
          continue;
        }
        if (spec.awaitsBoot === true) {
          await save({ detail: `no answer from the supervisor; waiting for a new boot` });
          return;
        }
        await save({ state: 'failed', detail: 'no answer from the supervisor; not repeated' });
        return;
      }
      ctx.log.warn({ err, command: action.command }, 'command failed');
      await save({ state: 'failed', sending: false, detail: describe(err) }, stamp ? 'remove' : undefined);
      return;
    }
    if (spec.awaitsBoot === true) {
      await save({ detail: `${action.command} requested; waiting for a new boot` });
    } else {
      await save({ state: 'done', sending: false, detail: typeof outcome === 'string' ? outcome : '' });
    }
    return;
  }
}
