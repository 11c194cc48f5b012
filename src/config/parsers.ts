import { CronPattern } from 'croner';
import { clip } from '../lib/text.js';
import { parseWindows, type Window } from '../agent/window.js';

// Pure parsers for setting values. Each takes the raw text (already trimmed by the caller or not)
// and returns the typed value, or throws an Error whose message says what is expected. The caller
// prefixes the setting's name and the (truncated) value; messages here never repeat the value.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest duration any setting accepts: 24 days, within what a Node timer can hold (~24.8 days). */
export const MAX_DURATION_MS = 24 * 86_400_000;

/** Formats milliseconds as the shortest duration text this module parses back (`5m`, `1h30m`, `500ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * Parses a duration to milliseconds: `500ms`, `90s`, `5m`, `2h`, `1d`, combined `1h30m`, decimals
 * `1.5h`; a bare number is seconds. Units are case-insensitive; `min`/`max` bound the result.
 */
export function parseDuration(raw: string, bounds: { min?: number; max?: number } = {}): number {
  const text = raw.trim().toLowerCase();
  const expected = 'must be a duration like 90s, 5m, 2h, 1d or 1h30m (a bare number is seconds)';
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1_000;
  } else {
    if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) throw new Error(expected);
    ms = 0;
    for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
      ms += Number(part[1]) * (UNIT_MS[part[2] ?? 's'] ?? 1_000);
    }
  }
  ms = Math.round(ms);
  const min = bounds.min ?? 0;
  const max = Math.min(bounds.max ?? MAX_DURATION_MS, MAX_DURATION_MS);
  if (ms < min) throw new Error(`must be at least ${formatDuration(min)}`);
  if (ms > max) throw new Error(`must be at most ${formatDuration(max)}`);
  return ms;
}

/** Parses `off` (or `none`, `0`) as null, anything else as a duration with the given bounds. */
export function parseOptionalDuration(raw: string, bounds: { min?: number; max?: number } = {}): number | null {
  const text = raw.trim().toLowerCase();
  if (text === '' || text === 'off' || text === 'none' || text === '0') return null;
  try {
    return parseDuration(text, bounds);
  } catch (err) {
    throw new Error(`${(err as Error).message}, or off`);
  }
}

/** Parses a boolean: `1/true/on/yes` or `0/false/off/no`, case-insensitive. */
export function parseBoolean(raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(text)) return true;
  if (['0', 'false', 'off', 'no'].includes(text)) return false;
  throw new Error('must be a boolean: 1/true/on/yes or 0/false/off/no');
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10,
  m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20,
  g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30,
};

/** Parses a size to bytes: `512KB`, `64MB`, `1GB` (binary: 1MB = 2^20 bytes); a bare number is bytes. */
export function parseSize(raw: string, bounds: { min?: number; max?: number } = {}): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const factor = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || factor === undefined) throw new Error('must be a size like 512KB, 64MB or 1GB');
  const bytes = Math.round(Number(match[1]) * factor);
  if (bounds.min !== undefined && bytes < bounds.min) throw new Error(`must be at least ${formatSize(bounds.min)}`);
  if (bounds.max !== undefined && bytes > bounds.max) throw new Error(`must be at most ${formatSize(bounds.max)}`);
  return bytes;
}

/** Formats bytes as the largest exact binary unit (`64MB`, `512KB`, `100B`). */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['GB', 2 ** 30], ['MB', 2 ** 20], ['KB', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/** Splits a comma-separated list: items trimmed, empty items dropped, duplicates removed (first kept). */
export function parseList(raw: string): string[] {
  return [...new Set(raw.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
}

/**
 * Parses a list whose items must all be one of `allowed`; `none` is the empty list. A list of
 * nothing but commas (`,,`) is refused: an empty list is said with `none`, never by accident.
 */
export function parseEnumList<T extends string>(raw: string, allowed: readonly T[], what: string): T[] {
  if (raw.trim().toLowerCase() === 'none') return [];
  const items = parseList(raw);
  if (items.length === 0) throw new Error(`names no ${what}; use none for no ${what}s, or a comma list of ${allowed.join(', ')}`);
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) {
    throw new Error(`unknown ${what} ${unknown.map((u) => JSON.stringify(clip(u, 30))).join(', ')}; expected a comma list of ${allowed.join(', ')}`);
  }
  return items as T[];
}

/** Parses one of a fixed set of words (case-insensitive). */
export function parseEnum<T extends string>(raw: string, allowed: readonly T[]): T {
  const text = raw.trim().toLowerCase();
  const found = allowed.find((a) => a === text);
  if (found === undefined) throw new Error(`must be one of ${allowed.join(', ')}`);
  return found;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,62}$/;

/** Parses a list of service or unit names (letters, digits, `_ . @ : -`); `none` is rejected. */
export function parseNameList(raw: string, what: string): string[] {
  const items = parseList(raw);
  if (items.length === 0) throw new Error(`must be a comma list of ${what} names`);
  const bad = items.find((item) => !NAME.test(item));
  if (bad !== undefined) throw new Error(`${JSON.stringify(clip(bad, 30))} is not a valid ${what} name (letters, digits, _ . @ : -)`);
  return items;
}

/** Validates a cron expression with croner (5 or 6 fields, or `@daily` etc.); `off` is null. No timer is started. */
export function parseCron(raw: string): string | null {
  const text = raw.trim().replace(/\s+/g, ' ');
  if (text === '' || text.toLowerCase() === 'off') return null;
  try {
    new CronPattern(text);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/^CronPattern:\s*/, '');
    throw new Error(`must be a cron expression like "0 3 * * *", or off (${clip(reason, 120)})`);
  }
  return text;
}

/** Validates an IANA time zone name (as `TZ` holds it); returns its canonical spelling. */
export function parseTimeZone(raw: string): string {
  const text = raw.trim().replace(/^:/, '');
  if (text === '') throw new Error('must be an IANA time zone such as Europe/Berlin or UTC');
  // UTC needs no time zone data: asking Intl would load ICU's zones (megabytes of RSS) on every
  // device, most of which never set TZ.
  if (/^(utc|etc\/utc|gmt|etc\/gmt|z|zulu|universal|etc\/universal)$/i.test(text)) return 'UTC';
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  } catch {
    throw new Error('must be an IANA time zone such as Europe/Berlin or UTC (unknown zone)');
  }
}

/**
 * Parses a maintenance window list (`Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00`, the grammar of
 * src/agent/window.ts); `off` is null (any time). Valid in every zone: the nights the clocks
 * change are handled when instants are computed, so nothing here depends on `TZ`.
 */
export function parseMaintenanceWindow(raw: string): readonly Window[] | null {
  try {
    return parseWindows(raw);
  } catch (err) {
    throw new Error(clip((err as Error).message, 400));
  }
}

/** Validates a regular expression by compiling it; `none` is null. Returns the source text. */
export function parseRegex(raw: string): string | null {
  const text = raw.trim();
  if (text === '' || text.toLowerCase() === 'none') return null;
  if (text.length > 1_000) throw new Error('must be a regular expression of at most 1000 characters');
  try {
    new RegExp(text);
  } catch (err) {
    throw new Error(`must be a valid regular expression (${clip((err as Error).message, 120)})`);
  }
  return text;
}

/** Parses an http(s) URL. */
export function parseHttpUrl(raw: string): string {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('must be an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must be an http(s) URL');
  return text;
}

/** Parses a log sink list: `cloud`, `loki+http(s)://…`, `http(s)://…`; `none` is the empty list. */
export function parseSinks(raw: string): string[] {
  if (raw.trim().toLowerCase() === 'none') return [];
  const items = parseList(raw);
  for (const item of items) {
    if (item === 'cloud') continue;
    const url = item.startsWith('loki+') ? item.slice('loki+'.length) : item;
    try {
      parseHttpUrl(url);
    } catch {
      throw new Error(`sink ${JSON.stringify(redactUserinfo(clip(item, 60)))} is not cloud, loki+http(s)://… or http(s)://…`);
    }
  }
  return items;
}

/** Parses an absolute filesystem path. */
export function parseAbsolutePath(raw: string): string {
  const text = raw.trim();
  if (!text.startsWith('/') || text.includes('\0')) throw new Error('must be an absolute path');
  return text.length > 1 ? text.replace(/\/+$/, '') : text;
}

/** Parses the tag prefix: 1–50 characters, no whitespace. */
export function parseTagPrefix(raw: string): string {
  const text = raw.trim();
  if (text === '' || text.length > 50 || /\s/.test(text)) throw new Error('must be 1 to 50 characters without spaces');
  return text;
}


/** Hides `user:password@` in URLs inside text. */
export function redactUserinfo(text: string): string {
  return text.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
}
