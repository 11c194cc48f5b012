/**
 * The command behaviour (PRODUCT §3): operator tags `<prefix><command>` = `<token> [service,…] [force]`
 * become actions, exactly once per token. Pure: no I/O, no clock, no randomness.
 */
import { COMMAND_NAMES, type CommandName } from '../../config/schema.js';
import { nodeCrypto } from '../../lib/builtins.js';
import { ackKey, formatAck, NO_TOKEN, parseAck, TERMINAL } from '../acks.js';
import type { Action, CommandRef } from '../actions.js';
import type { JournalEntry } from '../journal.js';
import { entryKey, type Snapshot } from '../snapshot.js';

/** Longest tag value the agent reads as a command. */
export const MAX_VALUE = 256;

/** What a token may look like: 1–64 of letters, digits and `. _ : -`, starting with a letter or digit. */
export const TOKEN_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const SERVICE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Keys under the prefix that are reports, not commands (written by the agent itself). */
const REPORT_KEYS: ReadonlySet<string> = new Set(['health', 'version', 'metrics', 'power', 'logs', 'status']);

const SERVICE_COMMANDS: ReadonlySet<string> = new Set(['restart-service', 'stop-service', 'start-service']);

/** A tag value parsed as a command, or why it cannot be one. */
export type Parsed =
  | { ok: true; ref: CommandRef & { command: CommandName } }
  | { ok: false; command: string; token: string; detail: string; later?: true };

/** The journal token used for a value whose own token is unusable (`#` + digest of the value). */
export function invalidToken(value: string): string {
  return `#${nodeCrypto().createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

function usage(command: string): string {
  if (SERVICE_COMMANDS.has(command)) return '<token> <service>[,<service>…] [force]';
  return command === 'identify' ? '<token>' : '<token> [force]';
}

/**
 * Parses one command tag's value. `services` (when known) validates service names; a service given
 * by image id (as the CLI and the supervisor accept) becomes its name through `images`, and waits
 * (`later`) while the supervisor state is unknown, so that every later step sees names.
 */
export function parseCommand(command: string, value: string, services: readonly string[] | null, images: Readonly<Record<string, string>> | null = null): Parsed {
  const fail = (detail: string, token = invalidToken(value)): Parsed => ({ ok: false, command, token, detail });
  if (value.length > MAX_VALUE) return fail(`value too long (${value.length} characters; at most ${MAX_VALUE})`);
  const words = value.trim().split(/\s+/).filter((w) => w !== '');
  const [token, ...rest] = words;
  if (token === undefined) return fail(`empty value; expected ${usage(command)}`);
  if (!(COMMAND_NAMES as readonly string[]).includes(command)) {
    return fail(`unknown command "${command.slice(0, 40)}"; known: ${COMMAND_NAMES.join(', ')}`, TOKEN_RE.test(token) ? token : invalidToken(value));
  }
  if (token.length > 64) return fail('token longer than 64 characters');
  if (!TOKEN_RE.test(token)) return fail('token may only hold letters, digits and . _ : - (1–64 characters)');
  if (token === 'force') return fail(`missing token; expected ${usage(command)}`);
  let list: string[] = [];
  if (SERVICE_COMMANDS.has(command)) {
    const names = rest.shift();
    if (names === undefined || names === 'force') return fail(`missing service; expected ${usage(command)}`, token);
    list = names.split(',');
    const bad = list.find((s) => !SERVICE_RE.test(s));
    if (bad !== undefined) return fail(`bad service name "${bad.slice(0, 40)}"`, token);
    const byImage = list.filter((s) => /^\d+$/.test(s) && !(services ?? []).includes(s));
    if (byImage.length > 0 && (services === null || images === null)) return { ok: false, command, token, detail: 'waiting for the supervisor to name the image id', later: true };
    list = list.map((s) => (byImage.includes(s) ? (images?.[s] ?? s) : s));
    const unknown = services === null ? undefined : list.find((s) => !services.includes(s));
    if (unknown !== undefined) {
      const what = /^\d+$/.test(unknown) ? 'unknown service or image id' : 'unknown service';
      const ids = Object.entries(images ?? {}).map(([id, name]) => `${id} (${name})`).join(', ');
      return fail(`${what} "${unknown.slice(0, 40)}"; known: ${services?.join(', ') || 'none'}${ids ? `; image ids: ${ids}` : ''}`, token);
    }
    list = [...new Set(list)];
  }
  let force = false;
  if (command !== 'identify' && rest[0] === 'force') {
    force = true;
    rest.shift();
  }
  if (rest.length > 0) return fail(`unexpected "${(rest[0] ?? '').slice(0, 40)}"; expected ${usage(command)}`, token);
  return { ok: true, ref: { command: command as CommandName, token, force, services: list } };
}

/** True for a key under the prefix that names a command slot (not a report, setting or ack). */
export function isCommandKey(name: string): boolean {
  return name !== '' && !name.includes('.') && !REPORT_KEYS.has(name);
}

function effect(ref: CommandRef & { command: CommandName }): Action {
  switch (ref.command) {
    case 'reboot':
      return { kind: 'reboot', ...ref };
    case 'shutdown':
      return { kind: 'shutdown', ...ref };
    case 'restart':
      return { kind: 'restart', ...ref };
    case 'purge':
      return { kind: 'purge', ...ref };
    case 'identify':
      return { kind: 'identify', ...ref };
    case 'update':
      return { kind: 'update', ...ref };
    case 'restart-service':
    case 'stop-service':
    case 'start-service':
      return { kind: 'service', ...ref };
  }
}

const POWER: ReadonlySet<string> = new Set(['reboot', 'shutdown']);

/** True for an entry that has not started and has nothing in flight (it may still be closed). */
function open(e: JournalEntry): boolean {
  return e.state === 'accepted' || e.state === 'deferred' || (e.state === 'running' && !e.sending);
}

/** The token a command's tag names now (`#…` for an unusable value), or undefined when there is no tag. */
function currentToken(snapshot: Snapshot, command: string): string | undefined {
  const value = snapshot.deviceTags[`${snapshot.config.tagPrefix}${command}`];
  if (value === undefined) return undefined;
  const parsed = parseCommand(command, value, snapshot.services, snapshot.serviceImages);
  return parsed.ok ? parsed.ref.token : parsed.token;
}

/**
 * Older tokens that never started (accepted, deferred, or waiting on a lock or an unreachable
 * supervisor) whose tag now names another token or was removed: the newer intent replaces them,
 * so they are closed and can never run later alongside the new one.
 */
function superseded(snapshot: Snapshot): Action[] {
  const out: Action[] = [];
  for (const e of snapshot.journal) {
    // A token with a call in flight is included while its job lives, so that the job stops
    // retrying; the dispatcher never closes it (its outcome is recorded by the job).
    const inFlight = e.state === 'running' && e.sending && snapshot.inProgress.has(entryKey(e.command, e.token));
    if ((!open(e) && !inFlight) || !isCommandKey(e.command)) continue;
    const now = currentToken(snapshot, e.command);
    if (now === e.token) continue;
    const detail = now === undefined ? 'withdrawn: the tag was removed before it ran' : `superseded by ${now.startsWith('#') ? 'a new tag value' : now} before it ran`;
    out.push({ kind: 'supersede', command: e.command, token: e.token, force: e.force, services: e.services, detail });
  }
  return out;
}

function deferral(budget: Snapshot['budget'], used: number): string {
  const when = budget.max === 0
    ? 'reboots are disabled here (max-reboots-per-day is 0)'
    : budget.releaseAtWall === null
      ? 'another reboot or shutdown is pending; runs at a later poll once the budget allows'
      : `runs at the first poll after ${new Date(budget.releaseAtWall).toISOString()}`;
  return `reboot budget spent (${used} of ${budget.max} in 24 h); ${when}`;
}

/**
 * Whether a command tag not yet in the journal names a service by an image id the snapshot cannot
 * resolve: only then does the agent ask the supervisor for its image ids (not at every poll).
 */
export function needsImageIds(snapshot: Snapshot): boolean {
  const prefix = snapshot.config.tagPrefix;
  for (const [key, value] of Object.entries(snapshot.deviceTags)) {
    const name = key.slice(prefix.length);
    if (!key.startsWith(prefix) || !isCommandKey(name)) continue;
    const parsed = parseCommand(name, value, snapshot.services, snapshot.serviceImages);
    if (!parsed.ok && parsed.later === true && !snapshot.journal.some((e) => e.command === name && e.token === parsed.token)) return true;
  }
  return false;
}

/**
 * True when the ack in the cloud already shows this rejection (same token, same words): the ack is
 * its record, so a journal that no longer holds it (made-up names beyond the journal's cap) does
 * not write it again at every poll.
 */
function alreadyRejected(ack: string | undefined, token: string, detail: string): boolean {
  const parsed = ack === undefined ? undefined : parseAck(ack);
  if (!parsed || parsed.state !== 'rejected') return false;
  return ack === formatAck(token.startsWith('#') ? NO_TOKEN : token, 'rejected', parsed.atWall, detail);
}

/** Decides, from a snapshot, which command actions to take now. */
export function decide(snapshot: Snapshot): Action[] {
  const { config, deviceTags, journal, inProgress, budget } = snapshot;
  const prefix = config.tagPrefix;
  const actions: Action[] = superseded(snapshot);
  const closing = new Set(actions.map((a) => entryKey(a.command, a.token)));
  const find = (command: string, token: string) => journal.find((e) => e.command === command && e.token === token);
  // Reboots and shutdowns accepted but not yet sent hold a place in the budget (no stamp yet).
  const pendingPower = (self: string) =>
    journal.filter((e) => POWER.has(e.command) && (e.state === 'accepted' || (e.state === 'running' && !e.sending)) && !closing.has(entryKey(e.command, e.token)) && entryKey(e.command, e.token) !== self).length;
  let powerNow = 0;
  for (const key of Object.keys(deviceTags).sort()) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (!isCommandKey(name)) continue;
    const parsed = parseCommand(name, deviceTags[key] ?? '', snapshot.services, snapshot.serviceImages);
    if (!parsed.ok && parsed.later === true) continue;
    const command = parsed.ok ? parsed.ref.command : parsed.command;
    const token = parsed.ok ? parsed.ref.token : parsed.token;
    const entry = find(command, token);
    if (entry && (TERMINAL.has(entry.state) || entry.state === 'running')) continue;
    if (inProgress.has(entryKey(command, token))) continue;
    if (!parsed.ok) {
      if (!entry && alreadyRejected(deviceTags[ackKey(prefix, name)], token, parsed.detail)) continue;
      actions.push({ kind: 'reject', command, token, force: false, services: [], detail: parsed.detail });
      continue;
    }
    const ref = parsed.ref;
    if (!config.actions.includes(ref.command)) {
      actions.push({ kind: 'reject', ...ref, detail: `${ref.command} is not allowed here (add it to AGENT_ACTIONS)` });
      continue;
    }
    if (POWER.has(ref.command)) {
      const used = budget.used + pendingPower(entryKey(command, token)) + powerNow;
      if (used >= budget.max) {
        const detail = deferral(budget, used);
        // Deferred once; recorded again only when what it tells the operator has changed.
        if (entry?.state !== 'deferred' || entry.detail !== detail) actions.push({ kind: 'defer', ...ref, detail });
        continue;
      }
      powerNow += 1;
    }
    actions.push(effect(ref));
  }
  return actions;
}
