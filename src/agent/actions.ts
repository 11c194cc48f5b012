/**
 * Actions as data — what the admission step decided — and the ONE executor table: a mapped type
 * over `Action['kind']` makes the compiler demand an executor for every kind. What a command does
 * is its row in the command table (commands.ts), so one `run` executor serves them all.
 */
import { COMMANDS, isCommand } from './commands.js';
import type { CommandRef, ExecContext } from './context.js';
import { runEffect, watchEffect } from './effect.js';
import { intentOfRef, newEntry, type Intent } from './intent.js';
import type { AckState } from './acks.js';
import type { JournalEntry, WaitReason } from './journal.js';

export type { CommandRef, ExecContext } from './context.js';

/** Everything the agent may do with an intent. */
export type Action =
  /** Runs its command's effect (recorded `accepted` first). */
  | (CommandRef & { kind: 'run' })
  /** Watches for the evidence of a call a killed process left without an answer (evidence.ts). */
  | (CommandRef & { kind: 'watch' })
  /** Records it refused: malformed, not allowed, a missed slot. */
  | (CommandRef & { kind: 'reject'; detail: string })
  /** Records it waiting for the reboot budget. */
  | (CommandRef & { kind: 'defer'; detail: string })
  /** Closes an intent that never started: a newer one replaced it, or it is no longer wanted. */
  | (CommandRef & { kind: 'supersede'; detail: string })
  /** Records it waiting for its rollout wave or a maintenance window, until `startAt`. */
  | (CommandRef & { kind: 'schedule'; detail: string; startAt: number; reason: WaitReason })
  /** Closes a fleet command that has not started here: its rollout was aborted (state `cancelled`). */
  | (CommandRef & { kind: 'cancel'; detail: string });

/** An action that only records an outcome. */
export type RecordOnly = Extract<Action, { kind: 'reject' | 'defer' | 'supersede' | 'schedule' | 'cancel' }>;

/** Kinds that only record an outcome in the journal: no supervisor call, so they skip the runner. */
export const RECORD_ONLY: ReadonlySet<Action['kind']> = new Set(['reject', 'defer', 'supersede', 'schedule', 'cancel']);

const RECORDED_AS: { [K in RecordOnly['kind']]: AckState } = {
  reject: 'rejected', defer: 'deferred', supersede: 'rejected', schedule: 'scheduled', cancel: 'cancelled',
};

/** True for an action that only records an outcome. */
export function isRecordOnly(action: Action): action is RecordOnly {
  return RECORD_ONLY.has(action.kind);
}

/** The reference of an intent, for an action. */
export function refOf(intent: Intent): CommandRef {
  return {
    command: intent.command, token: intent.key, origin: intent.origin, force: intent.force, services: intent.args.services,
    ...(intent.now === true ? { now: true } : {}), ...(intent.wave ? { wave: intent.wave } : {}),
  };
}

/** One executor per action kind. */
export type Executors = { [K in Action['kind']]: (action: Extract<Action, { kind: K }>, ctx: ExecContext) => Promise<void> };

/** A record-only action's outcome as a journal entry, and where it goes (a closed old token keeps its place). */
export function recordOf(action: RecordOnly, old: JournalEntry | undefined, bootId: string, wall: number): { entry: JournalEntry; place: 'latest' | 'keep' } {
  const entry: JournalEntry = { ...newEntry(intentOfRef(action), { bootId, wall }, RECORDED_AS[action.kind], action.detail, old), createdAt: old?.createdAt ?? wall };
  if (action.kind === 'schedule') {
    entry.startAt = action.startAt;
    entry.reason = action.reason;
  }
  // A closed old token keeps its place; a cancelled one is what the operator asked about (its ack shows it).
  return { entry, place: action.kind === 'supersede' ? 'keep' : 'latest' };
}

async function record(ctx: ExecContext, action: RecordOnly): Promise<void> {
  const { entry, place } = recordOf(action, ctx.journal.get(action.command, action.token), ctx.bootId, ctx.clock.wall());
  await ctx.journal.put(entry, undefined, place);
  ctx.changed(entry);
}

/** The executor table. */
export const EXECUTORS: Executors = {
  run: async (a, ctx) => {
    if (isCommand(a.command)) await runEffect(ctx, a, COMMANDS[a.command]);
  },
  watch: async (a, ctx) => {
    const entry = ctx.journal.get(a.command, a.token);
    if (entry?.state === 'running' && entry.sending) await watchEffect(ctx, entry, 'agent restarted during the call');
  },
  reject: (a, ctx) => record(ctx, a),
  defer: (a, ctx) => record(ctx, a),
  supersede: (a, ctx) => record(ctx, a),
  schedule: (a, ctx) => record(ctx, a),
  cancel: (a, ctx) => record(ctx, a),
};

/** Runs an action through the table. */
export function execute(action: Action, ctx: ExecContext): Promise<void> {
  const run = EXECUTORS[action.kind] as (a: Action, c: ExecContext) => Promise<void>;
  return run(action, ctx);
}
