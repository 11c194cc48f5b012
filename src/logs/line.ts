/**
 * One log line as the agent shows and forwards it (PRODUCT §4 `/logs`, §5 sinks), read from the
 * host journal's JSON export (`journalctl -o json` through `POST /v2/journal-logs`).
 */

/** The line everywhere the agent shows or sends it: the same four fields in `/logs`, NDJSON and Loki. */
export interface LogLine {
  /** ISO-8601 UTC with milliseconds. */
  time: string;
  /** systemd unit, else the container's name, else the syslog identifier (`kernel` for the kernel). */
  unit: string;
  /** syslog priority 0 (emerg) … 7 (debug). */
  priority: number;
  message: string;
}

/** A journal entry: the line plus where it sits in the journal (to resume after it). */
export interface JournalEntry {
  line: LogLine;
  /** `__REALTIME_TIMESTAMP`: microseconds since the epoch. */
  atUs: number;
  /** `__CURSOR`, when journalctl gave one. */
  cursor?: string;
}

/** Priority of a line that carries none (journald's default for stdout: info). */
const DEFAULT_PRIORITY = 6;

function field(entry: Record<string, unknown>, name: string): string | undefined {
  const value = entry[name];
  if (typeof value === 'string') return value;
  // journald exports a field that is not valid UTF-8 as an array of byte values.
  if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) < 256)) {
    return Buffer.from(value as number[]).toString('utf8');
  }
  return undefined;
}

/** The unit a journal entry belongs to, as PRODUCT §4 names it. */
function unitOf(entry: Record<string, unknown>): string {
  const container = field(entry, 'CONTAINER_NAME');
  if (container) return container;
  const unit = field(entry, '_SYSTEMD_UNIT') ?? field(entry, 'UNIT');
  if (unit) return unit;
  if (field(entry, '_TRANSPORT') === 'kernel') return 'kernel';
  return field(entry, 'SYSLOG_IDENTIFIER') ?? 'unknown';
}

/**
 * Reads one line of `journalctl -o json`. Returns an Error (never throws) when the text is not a
 * journal entry: not JSON, not an object, or without a usable `__REALTIME_TIMESTAMP`.
 */
export function fromJournalJson(text: string): JournalEntry | Error {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new Error(`not JSON: ${text.slice(0, 80)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return new Error('a journal entry is a JSON object');
  const entry = parsed as Record<string, unknown>;
  const stamp = field(entry, '__REALTIME_TIMESTAMP');
  const atUs = stamp !== undefined && /^\d{1,17}$/.test(stamp) ? Number(stamp) : NaN;
  if (!Number.isSafeInteger(atUs)) return new Error('a journal entry has no __REALTIME_TIMESTAMP');
  const priorityText = field(entry, 'PRIORITY');
  const priority = priorityText !== undefined && /^[0-7]$/.test(priorityText) ? Number(priorityText) : DEFAULT_PRIORITY;
  const line: LogLine = {
    time: new Date(Math.floor(atUs / 1000)).toISOString(),
    unit: unitOf(entry),
    priority,
    message: field(entry, 'MESSAGE') ?? '',
  };
  const cursor = field(entry, '__CURSOR');
  return cursor === undefined ? { line, atUs } : { line, atUs, cursor };
}

/** The unit a filter word names, with `.service` added when it has no unit type (PRODUCT §4). */
function normalUnit(name: string): string {
  return /\.[a-z]+$/.test(name) ? name : `${name}.service`;
}

/**
 * A filter on units: `null` lets every line through; otherwise a line passes when its unit is one
 * of `units`, each matching with or without the `.service` suffix (a container name matches as given).
 */
export function unitFilter(units: readonly string[] | null): (unit: string) => boolean {
  if (units === null || units.length === 0) return () => true;
  const wanted = new Set<string>();
  for (const unit of units) {
    wanted.add(unit);
    wanted.add(normalUnit(unit));
  }
  return (unit) => wanted.has(unit) || wanted.has(normalUnit(unit));
}
