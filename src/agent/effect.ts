/**
 * Runs one command's effect with its intent persisted first, 423 retried until the lock wait ends,
 * an unreachable supervisor waited out, and no destructive call ever repeated once it may have
 * reached the supervisor (see journal.ts).
 *
 * The lock wait counts from when the command was accepted (`createdAt`, persisted), so a restart
 * of the agent does not restart it. Within one process the wait is measured on the monotonic
 * clock; the time spent before this process took the command over is measured on the wall clock
 * (the only clock that survives a restart), clamped at zero. A wall-clock step between two runs
 * can therefore only shorten the wait (forwards: `blocked` sooner, never forced) or lengthen it by
 * at most one lock wait (backwards: counted from zero again). Neither sends anything extra.
 */
import { exponential, fullJitter } from '../lib/backoff.js';
import { AgentError, UnreachableError, UpdatesLockedError, describe } from '../lib/errors.js';
import { TERMINAL } from './acks.js';
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
/** First and longest pause between retries while the supervisor is unreachable or answers 5xx. */
export const UNREACHABLE_BACKOFF = { baseMs: 2_000, maxMs: 60_000 } as const;
/**
 * How long the agent waits, still alive, after the supervisor accepted a reboot or shutdown before
 * calling it failed: a real reboot ends this process within seconds.
 */
export const BOOT_GRACE_MS = 15 * 60_000;
/** First and longest pause between attempts to record an outcome while the journal cannot be written. */
export const JOURNAL_RETRY = { baseMs: 2_000, maxMs: 60_000 } as const;
/** How many times an idempotent command is tried while the supervisor answers 5xx. */
export const SERVER_ERROR_TRIES = 5;

function codeOf(err: unknown): string {
  return err instanceof AgentError ? err.code : 'INTERNAL';
}

/** Executes `spec` for `action`; every state change is persisted, then reported through `ctx.changed`. */
export async function runEffect(ctx: ExecContext, action: CommandRef, spec: EffectSpec): Promise<void> {
  const wall = ctx.clock.wall();
  const old = ctx.journal.get(action.command, action.token);
  if (old && TERMINAL.has(old.state)) return;
  let entry: JournalEntry = {
    command: action.command, token: action.token, state: 'accepted', detail: '', bootId: ctx.bootId,
    attempts: old?.attempts ?? 0, sending: false, force: action.force, services: action.services,
    createdAt: old?.createdAt ?? wall, updatedAt: wall,
  };
  const persist = async (reboot?: 'add' | 'remove'): Promise<void> => {
    try {
      await ctx.journal.put(entry, reboot);
    } finally {
      // After a failed write too: the journal undid the change, and the ack must follow it.
      ctx.changed(ctx.journal.get(entry.command, entry.token) ?? entry);
    }
  };
  // The intent before a call: if it cannot be written, nothing is sent (the error ends the job).
  const saveIntent = async (change: Partial<JournalEntry>, reboot?: 'add' | 'remove'): Promise<void> => {
    entry = { ...entry, ...change };
    await persist(reboot);
  };
  // What a call did must not be lost to a full disk: retried until it is on disk (health says
  // "journal not writable" meanwhile), or the agent stops — then reconciliation decides.
  const save = async (change: Partial<JournalEntry>, reboot?: 'add' | 'remove'): Promise<void> => {
    entry = { ...entry, ...change };
    for (let tries = 0; ; tries++) {
      try {
        await persist(reboot);
        return;
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        ctx.log.warn({ err, command: action.command }, 'cannot record the outcome; retrying');
        try {
          await ctx.sleep(exponential(tries, JOURNAL_RETRY));
        } catch {
          throw err;
        }
      }
    }
  };
  // Waits; false when the job was cancelled or stopped, or its entry was closed meanwhile (superseded).
  // After a reboot/shutdown may have been accepted: a real one ends this process; still being
  // alive after the grace period means it did not happen, and it is not sent again.
  const awaitBoot = async (detail: string): Promise<void> => {
    await save({ detail: `${detail}; waiting for a new boot` });
    if (!(await pause(BOOT_GRACE_MS))) return;
    await save({
      state: 'failed', sending: false,
      detail: `${detail} but the device is still up after ${BOOT_GRACE_MS / 60_000} min; not repeated (set a new token to try again)`,
    });
  };
  const pause = async (ms: number): Promise<boolean> => {
    try {
      await ctx.sleep(ms);
    } catch {
      // aborted: checked below
    }
    const now = ctx.journal.get(action.command, action.token);
    return !ctx.signal.aborted && !(now && TERMINAL.has(now.state));
  };
  const carried = Math.max(0, wall - entry.createdAt);
  const started = ctx.clock.now();
  let lockTries = 0;
  let downTries = 0;
  let serverErrors = 0;
  const stamp = spec.awaitsBoot === true;
  while (!ctx.signal.aborted) {
    // The intent, persisted before the call. If this write fails, nothing is sent.
    await saveIntent({ state: 'running', sending: true, attempts: entry.attempts + 1, bootId: ctx.bootId }, stamp ? 'add' : undefined);
    let outcome: unknown;
    try {
      outcome = await spec.call(action.force);
    } catch (err) {
      const code = codeOf(err);
      if (code === 'LOCKED') {
        const lock = err instanceof UpdatesLockedError && err.lockMessage ? err.lockMessage : 'update lock held';
        const waited = carried + ctx.clock.now() - started;
        const wait = ctx.config().lockWaitMs;
        if (waited >= wait) {
          await save({ state: 'blocked', sending: false, detail: `${lock}; gave up after waiting ${Math.round(waited / 1000)} s (set force to override)` }, stamp ? 'remove' : undefined);
          return;
        }
        await save({ sending: false, detail: `${lock}; retrying until the lock wait ends` }, stamp ? 'remove' : undefined);
        if (!(await pause(Math.min(exponential(lockTries++, LOCK_BACKOFF), wait - waited)))) return;
        continue;
      }
      // A destructive call is retried only when it certainly never reached the supervisor.
      const neverArrived = err instanceof UnreachableError && !err.mayHaveArrived;
      if (code === 'UNREACHABLE' || code === 'TIMEOUT') {
        if (!spec.destructive || neverArrived) {
          await save({ sending: false, detail: 'supervisor unreachable; retrying' }, stamp ? 'remove' : undefined);
          if (!(await pause(Math.max(1_000, fullJitter(downTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random }))))) return;
          continue;
        }
        if (spec.awaitsBoot === true) {
          await awaitBoot('no answer from the supervisor');
          return;
        }
        await save({ state: 'failed', detail: 'no answer from the supervisor; not repeated' });
        return;
      }
      if ((code === 'BAD_RESPONSE' || code === 'TOO_LARGE') && spec.awaitsBoot === true) {
        // The supervisor answered 2xx with a body we cannot read: the reboot was most likely accepted.
        await awaitBoot('unreadable reply from the supervisor');
        return;
      }
      if (code === 'SERVER_ERROR' && !spec.destructive && ++serverErrors < SERVER_ERROR_TRIES) {
        await save({ sending: false, detail: `${describe(err)}; retrying` });
        if (!(await pause(Math.max(1_000, fullJitter(downTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random }))))) return;
        continue;
      }
      ctx.log.warn({ err, command: action.command }, 'command failed');
      const tail = spec.destructive ? '; not repeated (set a new token to try again)' : '';
      await save({ state: 'failed', sending: false, detail: `${describe(err)}${tail}` }, stamp ? 'remove' : undefined);
      return;
    }
    if (spec.awaitsBoot === true) {
      await awaitBoot(`${action.command} requested`);
    } else {
      await save({ state: 'done', sending: false, detail: typeof outcome === 'string' ? outcome : '' });
    }
    return;
  }
}
