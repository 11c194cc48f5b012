import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** How a request authenticated (what it sent, whether or not the key was right). */
export type AuthKind = 'bearer' | 'apikey-scheme' | 'query' | 'none';

/** The supervisor's boolean coercion: `true`, `"true"`, `1`, `"1"`, `"on"` (case-insensitive). */
export function truthy(value: unknown): boolean {
  if (value === true || value === 1) return true;
  if (typeof value !== 'string') return false;
  return ['true', '1', 'on'].includes(value.trim().toLowerCase());
}

/** The supervisor's integer coercion: an integer or an all-digit string; otherwise undefined. */
export function toInt(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/** A request body as the supervisor sees it (parsed only for JSON or urlencoded) and as recorded. */
export interface ParsedBody {
  /** What handlers read: `{}` unless the content type was JSON or urlencoded. */
  fields: Record<string, unknown>;
  /** What the record shows: the parsed value, the raw text for other types, undefined when empty. */
  recorded: unknown;
  /** The content type claimed JSON but the text did not parse. */
  invalid: boolean;
}

/** Parses a body the way the supervisor's body parsers do. */
export function parseBody(contentType: string | undefined, raw: string): ParsedBody {
  if (raw === '') return { fields: {}, recorded: undefined, invalid: false };
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      const value: unknown = JSON.parse(raw);
      const fields = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
      return { fields, recorded: value, invalid: false };
    } catch {
      return { fields: {}, recorded: raw, invalid: true };
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const fields = Object.fromEntries(new URLSearchParams(raw));
    return { fields, recorded: fields, invalid: false };
  }
  return { fields: {}, recorded: raw, invalid: false };
}

/** The key a request carries: `?apikey=` first, else `Authorization: Bearer|ApiKey <key>`. */
export function keyOf(
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  headerAuthSupported: boolean,
): { key: string | undefined; kind: AuthKind } {
  const fromQuery = query.get('apikey');
  if (fromQuery !== null) return { key: fromQuery, kind: 'query' };
  const header = headers.authorization;
  if (header === undefined) return { key: undefined, kind: 'none' };
  const match = /^(bearer|apikey)\s+(\S+)$/i.exec(header.trim());
  if (!match) return { key: undefined, kind: 'none' };
  const kind: AuthKind = match[1]?.toLowerCase() === 'bearer' ? 'bearer' : 'apikey-scheme';
  const key = match[2] ?? '';
  return { key: headerAuthSupported && /^\w+$/.test(key) ? key : undefined, kind };
}

/** The query as recorded: every value, with the key hidden. */
export function recordedQuery(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of query) out[name] = name.toLowerCase() === 'apikey' ? '[redacted]' : value;
  return out;
}

/** Reads a request body, refusing more than `max` bytes (the supervisor's limit is 10 MB). */
export async function readBody(req: IncomingMessage, max = 10 * 1024 * 1024): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Matches `/v2/applications/:appId/restart` against a path; returns the params or undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      params[w.slice(1)] = decodeURIComponent(g);
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}
