/**
 * Intents: what the agent means to do, from any origin — an operator's tag or one of its own
 * behaviours. Each becomes one journal entry (built by `newEntry` only), keyed by its command and
 * token, so the same journal, runner, lock handling and reboot budget serve them all.
 */
import type { CommandName } from '../config/schema.js';
import type { AckState } from './acks.js';
import type { JournalEntry } from './journal.js';

/** Who wants an intent. */
export const ORIGINS = ['operator', 'reboot-schedule', 'watchdog', 'offline-reboot'] as const;
/** One origin. */
export type Origin = (typeof ORIGINS)[number];
/** The agent's own behaviours (every origin but the operator). */
export type BehaviourName = Exclude<Origin, 'operator'>;

/** One thing to do, exactly once per key. */
export interface Intent {
  /**
   * Unique per command: an operator's token, or `<behaviour>@<id>` for a behaviour (`@` is never
   * in an operator's token, so the two never collide).
   */
  key: string;
  origin: Origin;
  command: CommandName;
  args: { services: readonly string[] };
  force: boolean;
}

/** What a behaviour proposes: an intent to run, or one to record as refused (`refuse` says why). */
export interface Proposal {
  intent: Intent;
  /** Recorded `rejected` with this detail, never run (a malformed tag, a missed slot). */
  refuse?: string;
  /** Still wanted but nothing to do now (waiting for the supervisor to name an image id; a refusal already shown): neither run nor withdrawn. */
  hold?: true;
}

/** The key of a behaviour's intent. */
export function behaviourKey(origin: BehaviourName, id: string): string {
  return `${origin}@${id}`;
}

/** The key of one journal entry in the runner and the snapshot. */
export function entryKey(command: string, token: string): string {
  return `${command} ${token}`;
}

/** The origin of a journal entry (entries written before origins existed are the operator's). */
export function originOf(entry: Pick<JournalEntry, 'origin'>): Origin {
  return entry.origin ?? 'operator';
}

/** Where an entry is reported: `<command>` (`<prefix><command>.ack`) for the operator, the behaviour's name (`<prefix><behaviour>.last`) otherwise. */
export function reportSlot(entry: Pick<JournalEntry, 'origin' | 'command'>): string {
  const origin = originOf(entry);
  return origin === 'operator' ? entry.command : origin;
}

/**
 * The journal entry of an intent in `state`. `old` is the entry the journal already holds for it:
 * its attempts, its acceptance time (a lock wait counts from there, unless it was only deferred)
 * and its arguments carry over.
 */
export function newEntry(
  intent: Intent,
  at: { bootId: string; wall: number },
  state: AckState = 'accepted',
  detail = '',
  old?: JournalEntry,
): JournalEntry {
  return {
    command: intent.command,
    token: intent.key,
    ...(intent.origin !== 'operator' ? { origin: intent.origin } : {}),
    state,
    detail,
    bootId: at.bootId,
    attempts: old?.attempts ?? 0,
    sending: false,
    force: old?.force ?? intent.force,
    services: old?.services ?? intent.args.services,
    createdAt: old && old.state !== 'deferred' ? old.createdAt : at.wall,
    updatedAt: at.wall,
  };
}

/** The intent an action names (actions are made from intents: `refOf` in actions.ts). */
export function intentOfRef(ref: { command: string; token: string; origin: Origin; force: boolean; services: readonly string[] }): Intent {
  return { key: ref.token, origin: ref.origin, command: ref.command as CommandName, args: { services: ref.services }, force: ref.force };
}

/** The intent a journal entry records (to resume or watch it). */
export function intentOf(entry: JournalEntry): Intent {
  return {
    key: entry.token,
    origin: originOf(entry),
    command: entry.command as CommandName,
    args: { services: entry.services },
    force: entry.force,
  };
}
