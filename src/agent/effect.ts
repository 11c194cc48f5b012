/**
 * Runs one command's effect with its intent persisted first, 423 retried until the lock wait ends,
 * an unreachable supervisor waited out, and no exactly-once call ever repeated once it may have
 * reached the supervisor (see journal.ts). What must be durable before a call and what evidence
 * makes `done` when the answer is lost is the rule in evidence.ts; `watchEffect` applies it.
 *
 * The lock wait counts from when the command was accepted (`createdAt`, persisted), so a restart
 * of the agent does not restart it. Within one process the wait is measured on the monotonic
 * clock; the time spent before this process took the command over is measured on the wall clock
 * (the only clock that survives a restart), clamped at zero. A wall-clock step between two runs
 * can therefore only shorten the wait (forwards: `blocked` sooner, never forced) or lengthen it by
 * at most one lock wait (backwards: counted from zero again). Neither sends anything extra. The
 * watch for evidence is measured the same way from `sentAt`: a step can make it end sooner
 * (`failed` sooner) or later, never turn it into `done` without the evidence.
 */
import { exponential, fullJitter } from '../lib/backoff.js';
import { AgentError, UnreachableError, UpdatesLockedError, describe } from '../lib/errors.js';
import { TERMINAL } from './acks.js';
import type { CommandRef, ExecContext } from './actions.js';
import { EXACTLY_ONCE, graceMs, judge, recreatesContainers, WATCH_EVERY_MS } from './evidence.js';
import type { JournalEntry } from './journal.js';

/** How one command's effect behaves. */
export interface EffectSpec {
  /** reboot/shutdown: `done` only after a new boot id is seen. */
  awaitsBoot?: boolean;
  /** The supervisor call; may resolve to a detail for the `done` ack. */
  call: (force: boolean) => Promise<unknown>;
}

/** First and longest pause between retries on a held update lock. */
export const LOCK_BACKOFF = { baseMs: 15_000, maxMs: 5 * 60_000 } as const;
/** First and longest pause between retries while the supervisor is unreachable or answers 5xx. */
export const UNREACHABLE_BACKOFF = { baseMs: 2_000, maxMs: 60_000 } as const;
/** First and longest pause between attempts to record an outcome while the journal cannot be written. */
export const JOURNAL_RETRY = { baseMs: 2_000, maxMs: 60_000 } as const;
/** How many times an idempotent command is tried while the supervisor answers 5xx. */
export const SERVER_ERROR_TRIES = 5;

function codeOf(err: unknown): string {
  return err instanceof AgentError ? err.code : 'INTERNAL';
}

/** Persisting an entry: `saveIntent` before a call (a failed write throws: nothing is sent), `save` after one (retried). */
function recorder(ctx: ExecContext, initial: JournalEntry) {
  let entry = initial;
  const persist = async (reboot?: 'add' | 'remove'): Promise<void> => {
    try {
      await ctx.journal.put(entry, reboot);
    } finally {
      // After a failed write too: the journal undid the change, and the ack must follow it.
      ctx.changed(ctx.journal.get(entry.command, entry.token) ?? entry);
    }
  };
  return {
    get entry(): JournalEntry {
      return entry;
    },
    async saveIntent(change: Partial<JournalEntry>, reboot?: 'add' | 'remove'): Promise<void> {
      entry = { ...entry, ...change };
      await persist(reboot);
    },
    // What a call did must not be lost to a full disk: retried until it is on disk (health says
    // "journal not writable" meanwhile), or the agent stops — then reconciliation decides.
    async save(change: Partial<JournalEntry>, reboot?: 'add' | 'remove'): Promise<void> {
      entry = { ...entry, ...change };
      for (let tries = 0; ; tries++) {
        try {
          await persist(reboot);
          return;
        } catch (err) {
          if (ctx.stopSignal.aborted) throw err;
          ctx.log.warn({ err, command: entry.command }, 'cannot record the outcome; retrying');
          try {
            await ctx.sleep(exponential(tries, JOURNAL_RETRY), { untilStop: true });
          } catch {
            throw err;
          }
        }
      }
    },
  };
}

/**
 * Waits for the evidence of an effect whose call had no answer (evidence.ts), then records `done`
 * or `failed`. Runs within the job that made the call, or at start for an entry a killed process
 * left `running`. Nothing is ever sent again; cancelling the job (a newer token) does not end the
 * watch, only stopping the agent does (the next process watches on).
 */
export async function watchEffect(ctx: ExecContext, start: JournalEntry, reason: string): Promise<void> {
  const rec = recorder(ctx, start);
  // How long ago the call was sent: the wall clock across a restart (clamped), then the monotonic one.
  const carried = Math.max(0, ctx.clock.wall() - (start.sentAt ?? start.updatedAt));
  const begun = ctx.clock.now();
  for (;;) {
    const elapsed = carried + ctx.clock.now() - begun;
    const verdict = judge(rec.entry, await ctx.observe(rec.entry), ctx.ownService, elapsed);
    if (verdict.state !== 'watch') {
      await rec.save({ state: verdict.state, sending: false, detail: verdict.state === 'done' ? verdict.detail : `${reason}: ${verdict.detail}` });
      return;
    }
    const detail = `${reason}; ${verdict.detail}`;
    if (rec.entry.detail !== detail) await rec.save({ detail });
    const wait = Math.max(1_000, Math.min(WATCH_EVERY_MS, graceMs(rec.entry.command) - elapsed));
    try {
      await ctx.sleep(wait, { untilStop: true });
    } catch {
      return;
    }
    const now = ctx.journal.get(start.command, start.token);
    if (ctx.stopSignal.aborted || !now || TERMINAL.has(now.state)) return;
  }
}

/** Executes `spec` for `action`; every state change is persisted, then reported through `ctx.changed`. */
export async function runEffect(ctx: ExecContext, action: CommandRef, spec: EffectSpec): Promise<void> {
  const wall = ctx.clock.wall();
  const old = ctx.journal.get(action.command, action.token);
  if (old && TERMINAL.has(old.state)) return;
  const rec = recorder(ctx, {
    command: action.command, token: action.token, state: 'accepted', detail: '', bootId: ctx.bootId,
    attempts: old?.attempts ?? 0, sending: false, force: action.force, services: action.services,
    createdAt: old?.createdAt ?? wall, updatedAt: wall,
  });
  // Waits; false when the job was cancelled or stopped, or its entry was closed meanwhile (superseded).
  const pause = async (ms: number): Promise<boolean> => {
    try {
      await ctx.sleep(ms);
    } catch {
      // aborted: checked below
    }
    const now = ctx.journal.get(action.command, action.token);
    return !ctx.signal.aborted && !(now && TERMINAL.has(now.state));
  };
  const carried = Math.max(0, wall - rec.entry.createdAt);
  const started = ctx.clock.now();
  let lockTries = 0;
  let downTries = 0;
  let serverErrors = 0;
  let cloudTries = 0;
  const stamp = spec.awaitsBoot === true;
  // Must never happen twice for one token (evidence.ts holds the one list).
  const exactlyOnce = EXACTLY_ONCE.has(action.command);
  while (!ctx.signal.aborted) {
    // What the call needs first (the supervisor's version: auth form, gates) is asked before the
    // intent, so that its failure is known to have sent nothing and the call may be tried again.
    try {
      await ctx.supervisor.version();
    } catch (err) {
      await rec.save({ state: 'running', sending: false, detail: `${describe(err)}; nothing sent, retrying` });
      if (!(await pause(Math.max(1_000, fullJitter(downTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random }))))) return;
      continue;
    }
    // Evidence to compare with, should the answer be lost (evidence.ts): read before the intent.
    const before = recreatesContainers(action.command) ? await ctx.containerIds() : action.command === 'stop-service' ? await ctx.serviceStatuses() : undefined;
    if (action.command === 'purge') {
      // A purge may wipe the journal: the cloud must hold the `running` ack naming this token
      // before the call, or a restarted agent could not know the purge was already asked for.
      await rec.saveIntent({ state: 'running', sending: false, detail: 'recording the purge in the cloud before the data volume is wiped' });
      try {
        await ctx.recordInCloud(rec.entry);
      } catch (err) {
        await rec.save({ detail: `waiting for the cloud to record the purge before the data volume is wiped (${describe(err)})` });
        if (!(await pause(Math.max(5_000, fullJitter(cloudTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random }))))) return;
        continue;
      }
    }
    // The intent, persisted before the call. If this write fails, nothing is sent.
    await rec.saveIntent(
      { state: 'running', sending: true, attempts: rec.entry.attempts + 1, bootId: ctx.bootId, sentAt: ctx.clock.wall(), ...(before !== undefined ? { before } : {}) },
      stamp ? 'add' : undefined,
    );
    let outcome: unknown;
    try {
      outcome = await spec.call(action.force);
    } catch (err) {
      const code = codeOf(err);
      // The agent is stopping and cut the call short: the outcome is unknown, the entry stays
      // `running` with its call in flight, and the next process watches for the evidence.
      if (code === 'ABORTED' && ctx.stopSignal.aborted) return;
      const save = (change: Partial<JournalEntry>, reboot?: 'add' | 'remove') => rec.save(change, reboot);
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
      // An exactly-once call is retried only when it certainly never reached the supervisor.
      const neverArrived = err instanceof UnreachableError && !err.mayHaveArrived;
      if (code === 'UNREACHABLE' || code === 'TIMEOUT') {
        if (!exactlyOnce || neverArrived) {
          await save({ sending: false, detail: 'supervisor unreachable; retrying' }, stamp ? 'remove' : undefined);
          if (!(await pause(Math.max(1_000, fullJitter(downTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random }))))) return;
          continue;
        }
        await watchEffect(ctx, rec.entry, 'no answer from the supervisor');
        return;
      }
      if ((code === 'BAD_RESPONSE' || code === 'TOO_LARGE') && exactlyOnce) {
        // An unreadable or cut-off reply: the call may well have been taken.
        await watchEffect(ctx, rec.entry, 'unreadable reply from the supervisor');
        return;
      }
      if (code === 'SERVER_ERROR' && !exactlyOnce && ++serverErrors < SERVER_ERROR_TRIES) {
        await save({ sending: false, detail: `${describe(err)}; retrying` });
        if (!(await pause(Math.max(1_000, fullJitter(downTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random }))))) return;
        continue;
      }
      ctx.log.warn({ err, command: action.command }, 'command failed');
      const tail = exactlyOnce ? '; not repeated (set a new token to try again)' : '';
      await save({ state: 'failed', sending: false, detail: `${describe(err)}${tail}` }, stamp ? 'remove' : undefined);
      return;
    }
    if (spec.awaitsBoot === true) {
      // Accepted: a real reboot ends this process; still being here after the grace period means
      // it did not happen, and it is not sent again.
      await watchEffect(ctx, rec.entry, `${action.command} requested`);
    } else {
      await rec.save({ state: 'done', sending: false, detail: typeof outcome === 'string' ? outcome : '' });
    }
    return;
  }
}
