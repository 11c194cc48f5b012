/**
 * The operator's commands (PRODUCT §3): tags `<prefix><command>` = `<token> [service,…] [force]`
 * become intents of origin `operator`, one per token. Pure: no I/O, no clock, no randomness. What
 * may run now (allow-list, reboot budget, supersede, already finished) is the admission step's.
 */
import { COMMAND_NAMES, type CommandName } from '../../config/schema.js';
import { nodeCrypto } from '../../lib/builtins.js';
import { ackKey, formatAck, NO_TOKEN, parseAck } from '../acks.js';
import { specOf, usage } from '../commands.js';
import type { Intent, Proposal } from '../intent.js';
import type { Snapshot } from '../snapshot.js';
import type { Behaviour, Decision } from './behaviour.js';

/** Longest tag value the agent reads as a command. */
export const MAX_VALUE = 256;

/** What a token may look like: 1–64 of letters, digits and `. _ : -`, starting with a letter or digit. */
export const TOKEN_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const SERVICE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Words that are never a token or a service name (PRODUCT §3; words with `=` are reserved too). */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(['force', 'now', 'abort']);

/** Keys under the prefix that are reports, not commands (written by the agent itself). */
const REPORT_KEYS: ReadonlySet<string> = new Set(['health', 'version', 'metrics', 'power', 'logs', 'status']);

/** A tag value parsed as a command, or why it cannot be one. */
export type Parsed =
  | { ok: true; intent: Intent }
  | { ok: false; command: string; token: string; detail: string; later?: true };

/** The journal token used for a value whose own token is unusable (`#` + digest of the value). */
export function invalidToken(value: string): string {
  return `#${nodeCrypto().createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

/**
 * Parses one command tag's value (`<token> [services] [force] [now]`, `force` and `now` in either
 * order). `services` (when known) validates service names; a service given by image id (as the CLI
 * and the supervisor accept) becomes its name through `images`, and waits (`later`) while the
 * supervisor state is unknown, so that every later step sees names.
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
  if (RESERVED_WORDS.has(token)) return fail(`missing token ("${token}" is a reserved word); expected ${usage(command)}`);
  const spec = specOf(command);
  let list: string[] = [];
  if (spec?.serviceVerb) {
    const names = rest.shift();
    if (names === undefined || RESERVED_WORDS.has(names)) return fail(`missing service; expected ${usage(command)}`, token);
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
  let now = false;
  // `force` and `now` in either order, each once.
  while (rest.length > 0) {
    if (spec?.takesForce === true && rest[0] === 'force' && !force) force = true;
    else if (rest[0] === 'now' && !now) now = true;
    else break;
    rest.shift();
  }
  if (rest.length > 0) return fail(`unexpected "${(rest[0] ?? '').slice(0, 40)}"; expected ${usage(command)}`, token);
  return { ok: true, intent: { key: token, origin: 'operator', command: command as CommandName, args: { services: list }, force, ...(now ? { now: true } : {}) } };
}

/** True for a key under the prefix that names a command slot (not a report, setting or ack). */
export function isCommandKey(name: string): boolean {
  return name !== '' && !name.includes('.') && !REPORT_KEYS.has(name);
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
export function alreadyRejected(ack: string | undefined, token: string, detail: string): boolean {
  const parsed = ack === undefined ? undefined : parseAck(ack);
  if (!parsed || parsed.state !== 'rejected') return false;
  return ack === formatAck(token.startsWith('#') ? NO_TOKEN : token, 'rejected', parsed.atWall, detail);
}

/** The intent a refused tag value is recorded under. */
export function refused(command: string, token: string, origin: 'operator' | 'fleet' = 'operator'): Intent {
  return { key: token, origin, command: command as CommandName, args: { services: [] }, force: false };
}

/**
 * Every command tag as a proposal: a valid one as its intent, a malformed one refused (unless its
 * ack already shows that refusal), one naming an image id the supervisor has not resolved yet held.
 */
export function decideCommands(snapshot: Snapshot): Decision {
  const { config, deviceTags, journal } = snapshot;
  const prefix = config.tagPrefix;
  const proposals: Proposal[] = [];
  for (const key of Object.keys(deviceTags).sort()) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (!isCommandKey(name)) continue;
    const parsed = parseCommand(name, deviceTags[key] ?? '', snapshot.services, snapshot.serviceImages);
    if (parsed.ok) {
      proposals.push({ intent: parsed.intent });
      continue;
    }
    const intent = refused(parsed.command, parsed.token);
    if (parsed.later === true) proposals.push({ intent, hold: true });
    else if (!journal.some((e) => e.command === parsed.command && e.token === parsed.token) && alreadyRejected(deviceTags[ackKey(prefix, name)], parsed.token, parsed.detail)) {
      // Its ack is its record: still wanted (not withdrawn), nothing to write again.
      proposals.push({ intent, hold: true });
    } else proposals.push({ intent, refuse: parsed.detail });
  }
  return { proposals };
}

/** The operator's commands as a behaviour: level (a tag that moved on withdraws what it named), active once the tags were read. */
export const operator: Behaviour = {
  name: 'operator',
  level: true,
  enabled: (s) => s.tagsSeen,
  decide: decideCommands,
};
