/**
 * Fleet commands (PRODUCT §3 "Fleet commands and staged rollouts"): the command tags set on the
 * fleet, read from the fleet's tags of the poll (no extra request), become intents of origin
 * `fleet`. Pure: no I/O, no clock, no randomness.
 *
 * A value is `<token> [services] [force] [now] [rollout=<percent>%/<period>] [from=<UTC time>]`,
 * or `<token> abort`:
 * - With `rollout=`, the device finds its own wave from its uuid and the token (rollout.ts) and
 *   waits until `t0 + k × period`; `t0` is `from=`, or else the time the device first saw the token,
 *   kept in the journal entry (so a restart neither moves nor forgets it).
 * - `from=` alone is one wave: every device starts at that time.
 * - Without either, every device runs it at its next poll.
 * - `<token> abort`, or the tag removed, closes every intent of that token that has not started as
 *   `cancelled`; one that started finishes.
 * Tokens share one namespace per command with the device's own tags: a token that ran on the
 * device never runs again, whichever tag carried it (the journal is keyed by command and token).
 * When and whether it may start now (the wave, a maintenance window, the allow-list, the reboot
 * budget) is the admission step's. A device opts out with `fleet-commands` = `off`.
 */
import { ackKey } from '../acks.js';
import { isCommand } from '../commands.js';
import type { Intent, Proposal, WavePlace } from '../intent.js';
import { deviceSchedule, parseScheduleWords, waveLabel } from '../rollout.js';
import type { Snapshot } from '../snapshot.js';
import type { Behaviour, Decision } from './behaviour.js';
import { alreadyRejected, invalidToken, isCommandKey, MAX_VALUE, parseCommand, refused, RESERVED_WORDS, TOKEN_RE } from './operator.js';

/** A fleet tag's value, parsed. */
export type FleetParsed =
  | { ok: true; intent: Intent; rollout: { percent: number; periodMs: number } | null; fromMs: number | null }
  | { ok: true; abort: true; command: string; token: string }
  | { ok: false; command: string; token: string; detail: string; later?: true };

/** Parses one fleet command tag's value. */
export function parseFleetCommand(command: string, value: string, services: readonly string[] | null, images: Readonly<Record<string, string>> | null = null): FleetParsed {
  if (value.length > MAX_VALUE) return { ok: false, command, token: invalidToken(value), detail: `value too long (${value.length} characters; at most ${MAX_VALUE})` };
  const words = value.trim().split(/\s+/).filter((w) => w !== '');
  const [token = '', ...rest] = words;
  // An abort names a real command and token; anything else is judged (and refused) as a command.
  if (rest.length === 1 && rest[0] === 'abort' && isCommand(command) && TOKEN_RE.test(token) && !RESERVED_WORDS.has(token)) return { ok: true, abort: true, command, token };
  const schedule = parseScheduleWords(rest);
  if (!schedule.ok) return { ok: false, command, token: TOKEN_RE.test(token) ? token : invalidToken(value), detail: schedule.reason };
  const parsed = parseCommand(command, [token, ...schedule.value.rest].join(' '), services, images);
  if (!parsed.ok) {
    // The digest of a malformed value is of the whole value, as the device's own tags' are.
    return parsed.token.startsWith('#') ? { ...parsed, token: invalidToken(value) } : parsed;
  }
  return { ok: true, intent: { ...parsed.intent, origin: 'fleet' }, rollout: schedule.value.rollout, fromMs: schedule.value.fromMs };
}

/** Every fleet command tag as a proposal (see the module comment). */
export function decideFleet(s: Snapshot): Decision {
  const prefix = s.config.tagPrefix;
  const proposals: Proposal[] = [];
  for (const key of Object.keys(s.fleetTags).sort()) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (!isCommandKey(name)) continue;
    const value = s.fleetTags[key] ?? '';
    const parsed = parseFleetCommand(name, value, s.services, s.serviceImages);
    const entry = (token: string) => s.journal.find((e) => e.command === name && e.token === token);
    if (!parsed.ok) {
      const intent = refused(parsed.command, parsed.token, 'fleet');
      if (parsed.later === true) proposals.push({ intent, hold: true });
      else if (!entry(parsed.token) && alreadyRejected(s.deviceTags[ackKey(prefix, name)], parsed.token, parsed.detail)) proposals.push({ intent, hold: true });
      else proposals.push({ intent, refuse: parsed.detail });
      continue;
    }
    if ('abort' in parsed) {
      proposals.push({ intent: refused(parsed.command, parsed.token, 'fleet'), cancel: `the fleet rollout was aborted (${parsed.token} abort)` });
      continue;
    }
    const { intent, rollout, fromMs } = parsed;
    if (rollout === null && fromMs === null) {
      proposals.push({ intent });
      continue;
    }
    // The wave needs the device's uuid: until it is known, the intent waits (not withdrawn).
    if (rollout !== null && s.uuid === '') {
      proposals.push({ intent, hold: true });
      continue;
    }
    const t0 = fromMs ?? entry(intent.key)?.t0 ?? s.wall;
    const place = rollout === null ? { wave: 0, of: 1, startMs: t0 } : deviceSchedule(s.uuid, intent.key, rollout, t0);
    const wave: WavePlace = { t0, startAt: place.startMs, label: waveLabel(place) };
    proposals.push({ intent: { ...intent, wave } });
  }
  return { proposals };
}

/** Fleet commands as a behaviour: level (a fleet tag removed cancels what has not started), on once the tags were read and unless the device opted out. */
export const fleet: Behaviour = {
  name: 'fleet',
  level: true,
  enabled: (s) => s.tagsSeen && s.config.fleetCommands,
  decide: decideFleet,
};
