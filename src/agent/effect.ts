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
import type { CommandSpec } from './commands.js';
import type { CommandRef, ExecContext } from './context.js';
import { graceMs, judge, WATCH_EVERY_MS } from './evidence.js';
import { intentOfRef, newEntry } from './intent.js';
import type { JournalEntry } from './journal.js';
import { nextStep, UNREACHABLE_BACKOFF, type Outcome } from './policy.js';

export { LOCK_BACKOFF, SERVER_ERROR_TRIES, UNREACHABLE_BACKOFF } from './policy.js';


/** First and longest pause between attempts to record an outcome while the journal cannot be written. */
export const JOURNAL_RETRY = { baseMs: 2_000, maxMs: 60_000 } as const;

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

/** How long the `running` ack of a reboot or shutdown may take to be written before the call is made anyway. */
export const POWER_ACK_WAIT_MS = 5_000;

function outcomeOf(err: unknown, ctx: ExecContext): Extract<Outcome, { ok: false }> {
  return {
    ok: false,
    code: codeOf(err),
    mayHaveArrived: !(err instanceof UnreachableError) || err.mayHaveArrived,
    message: describe(err),
    ...(err instanceof UpdatesLockedError && err.lockMessage ? { lock: err.lockMessage } : {}),
    stopping: ctx.stopSignal.aborted,
  };
}

/**
 * Runs one intent's effect: the supervisor call of its row in the command table, with its intent
 * persisted first; what follows a call is `nextStep`'s answer (policy.ts). Every state change is
 * persisted, then reported through `ctx.changed`.
 */
export async function runEffect(ctx: ExecContext, action: CommandRef, spec: CommandSpec): Promise<void> {
  const wall = ctx.clock.wall();
  const old = ctx.journal.get(action.command, action.token);
  if (old && TERMINAL.has(old.state)) return;
  const rec = recorder(ctx, newEntry(intentOfRef(action), { bootId: ctx.bootId, wall }, 'accepted', '', old));
  // False once the job was cancelled or stopped, or its entry closed meanwhile (superseded,
  // withdrawn): then nothing may be sent, and nothing written either (it would reopen the entry).
  const wanted = (): boolean => {
    const now = ctx.journal.get(action.command, action.token);
    return !ctx.signal.aborted && !(now && TERMINAL.has(now.state));
  };
  // Waits; false when the intent is no longer wanted.
  const pause = async (ms: number): Promise<boolean> => {
    try {
      await ctx.sleep(ms);
    } catch {
      // aborted: checked below
    }
    return wanted();
  };
  const carried = Math.max(0, wall - rec.entry.createdAt);
  const started = ctx.clock.now();
  const progress = { lockTries: 0, downTries: 0, serverErrors: 0 };
  let cloudTries = 0;
  const stamp = spec.power;
  // Service verbs: the services the supervisor has not taken yet (kept across retries).
  const remaining = [...action.services];
  while (!ctx.signal.aborted) {
    // What the call needs first (the supervisor's version: auth form, gates) is asked before the
    // intent, so that its failure is known to have sent nothing and the call may be tried again.
    try {
      await ctx.supervisor.version();
    } catch (err) {
      if (!wanted()) return;
      await rec.save({ state: 'running', sending: false, detail: `${describe(err)}; nothing sent, retrying` });
      if (!(await pause(Math.max(1_000, fullJitter(progress.downTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random }))))) return;
      continue;
    }
    // Evidence to compare with, should the answer be lost (evidence.ts): read before the intent.
    const before = spec.evidence === 'containers-recreated' ? await ctx.containerIds() : spec.evidence === 'services-stopped' ? await ctx.serviceStatuses() : undefined;
    // Every wait above and below (the supervisor, the cloud) lets a decision round close the intent.
    if (!wanted()) return;
    if (spec.wipesData) {
      // A purge may wipe the journal: the cloud must hold the `running` ack naming this token
      // before the call, or a restarted agent could not know the purge was already asked for.
      await rec.saveIntent({ state: 'running', sending: false, detail: 'recording the purge in the cloud before the data volume is wiped' });
      try {
        await ctx.recordInCloud(rec.entry);
      } catch (err) {
        if (!wanted()) return;
        await rec.save({ detail: `waiting for the cloud to record the purge before the data volume is wiped (${describe(err)})` });
        if (!(await pause(Math.max(5_000, fullJitter(cloudTries++, { ...UNREACHABLE_BACKOFF, random: ctx.random }))))) return;
        continue;
      }
    } else if (spec.power) {
      // Operators see `running` before the device goes down (not only `done` after it is back):
      // written and awaited, for a few seconds at most — the reboot does not wait on the network.
      await rec.saveIntent({ state: 'running', sending: false, detail: `${action.command} requested` });
      await ctx.recordAck(rec.entry, POWER_ACK_WAIT_MS);
    }
    if (!wanted()) return;
    // The intent, persisted before the call. If this write fails, nothing is sent.
    await rec.saveIntent(
      { state: 'running', sending: true, attempts: rec.entry.attempts + 1, bootId: ctx.bootId, sentAt: ctx.clock.wall(), ...(before !== undefined ? { before } : {}) },
      stamp ? 'add' : undefined,
    );
    let outcome: Outcome;
    try {
      outcome = { ok: true, detail: await spec.call(ctx.supervisor, { force: action.force, remaining }) };
    } catch (err) {
      const failed = outcomeOf(err, ctx);
      if (failed.code !== 'LOCKED' && !(failed.code === 'ABORTED' && failed.stopping)) ctx.log.warn({ err, command: action.command }, 'command call failed');
      outcome = failed;
    }
    const step = nextStep(spec, outcome, { ...progress, lockWaitedMs: carried + ctx.clock.now() - started, lockWaitMs: ctx.config().lockWaitMs }, ctx.random());
    switch (step.next) {
      case 'leave':
        // The agent is stopping and cut the call short: the outcome is unknown, the entry stays
        // `running` with its call in flight, and the next process watches for the evidence.
        return;
      case 'done':
        await rec.save({ state: 'done', sending: false, detail: step.detail });
        return;
      case 'await-boot':
        // Accepted: a real reboot ends this process; still being here after the grace period means
        // it did not happen, and it is not sent again.
        await watchEffect(ctx, rec.entry, `${action.command} requested`);
        return;
      case 'watch':
        await watchEffect(ctx, rec.entry, step.reason);
        return;
      case 'failed':
      case 'blocked':
        await rec.save({ state: step.next, sending: false, detail: step.detail }, stamp ? 'remove' : undefined);
        return;
      case 'retry':
        progress[step.count] += 1;
        if (step.count === 'serverErrors') progress.downTries += 1;
        await rec.save({ sending: false, detail: step.detail }, stamp ? 'remove' : undefined);
        if (!(await pause(step.waitMs))) return;
        continue;
    }
  }
}
