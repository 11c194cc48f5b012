/**
 * Intents: what the agent means to do, from any origin — an operator's tag or one of its own
 * behaviours. Each becomes one journal entry (built by `newEntry` only), keyed by its command and
 * token, so the same journal, runner, lock handling and reboot budget serve them all.
 */
import type { CommandName } from '../config/schema.js';
import type { AckState } from './acks.js';
import type { JournalEntry } from './journal.js';

/** Who wants an intent: an operator's device tag, an operator's fleet tag, or one of the agent's behaviours. */
export const ORIGINS = ['operator', 'fleet', 'reboot-schedule', 'watchdog', 'offline-reboot'] as const;
/** One origin. */
export type Origin = (typeof ORIGINS)[number];
/** The agent's own behaviours (every origin but an operator's tags). */
export type BehaviourName = Exclude<Origin, 'operator' | 'fleet'>;

/** True for an operator's command, set on the device or on the fleet (one token namespace, one ack slot). */
export function byOperator(origin: Origin): origin is 'operator' | 'fleet' {
  return origin === 'operator' || origin === 'fleet';
}

/** A device's place in a fleet rollout (behaviours/fleet.ts). */
export interface WavePlace {
  /** The rollout's start: `from=`, or when this device first saw the token (kept in the journal). */
  t0: number;
  /** When this device's wave starts. */
  startAt: number;
  /** `wave <k+1>/<n>`. */
  label: string;
}

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
  /** The word `now`: starts outside a maintenance window. */
  now?: true;
  /** A fleet rollout's wave: the intent waits for its start. */
  wave?: WavePlace;
}

/** What a behaviour proposes: an intent to run, or one to record as refused (`refuse` says why). */
export interface Proposal {
  intent: Intent;
  /** Recorded `rejected` with this detail, never run (a malformed tag, a missed slot). */
  refuse?: string;
  /** Still wanted but nothing to do now (waiting for the supervisor to name an image id; a refusal already shown): neither run nor withdrawn. */
  hold?: true;
  /** Recorded `cancelled` with this detail unless it has started (a fleet rollout aborted). */
  cancel?: string;
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

/** Where an entry is reported: `<command>` (`<prefix><command>.ack`) for an operator's (device or fleet) tag, the behaviour's name (`<prefix><behaviour>.last`) otherwise. */
export function reportSlot(entry: Pick<JournalEntry, 'origin' | 'command'>): string {
  const origin = originOf(entry);
  return byOperator(origin) ? entry.command : origin;
}

/**
 * The journal entry of an intent in `state`. `old` is the entry the journal already holds for it:
 * its attempts, its acceptance time (a lock wait counts from there, unless it was only deferred or
 * scheduled), its arguments and its rollout start carry over.
 */
export function newEntry(
  intent: Intent,
  at: { bootId: string; wall: number },
  state: AckState = 'accepted',
  detail = '',
  old?: JournalEntry,
): JournalEntry {
  const t0 = intent.wave?.t0 ?? old?.t0;
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
    ...(intent.now === true || old?.now === true ? { now: true } : {}),
    ...(t0 !== undefined ? { t0 } : {}),
    createdAt: old && old.state !== 'deferred' && old.state !== 'scheduled' ? old.createdAt : at.wall,
    updatedAt: at.wall,
  };
}

/** The intent an action names (actions are made from intents: `refOf` in actions.ts). */
export function intentOfRef(ref: { command: string; token: string; origin: Origin; force: boolean; services: readonly string[]; now?: true; wave?: WavePlace }): Intent {
  return {
    key: ref.token, origin: ref.origin, command: ref.command as CommandName, args: { services: ref.services }, force: ref.force,
    ...(ref.now === true ? { now: true } : {}), ...(ref.wave ? { wave: ref.wave } : {}),
  };
}

/** The intent a journal entry records (to resume or watch it). */
export function intentOf(entry: JournalEntry): Intent {
  return {
    key: entry.token,
    origin: originOf(entry),
    command: entry.command as CommandName,
    args: { services: entry.services },
    force: entry.force,
    ...(entry.now === true ? { now: true } : {}),
  };
}
