import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { SimReply } from './routes.js';

/** How a request authenticated (what it sent, whether or not the key was right). */
export type AuthKind = 'bearer' | 'apikey-scheme' | 'query' | 'none';

/** The supervisor's boolean coercion: `true`, `"true"`, `1`, `"1"`, `"on"` (strings case-insensitive, not trimmed). */
export function truthy(value: unknown): boolean {
  if (value === true || value === 1) return true;
  if (typeof value !== 'string') return false;
  return ['true', '1', 'on'].includes(value.toLowerCase());
}

/**
 * The supervisor's integer coercion: a value whose text is digits with an optional sign and
 * trailing zero decimals (`12`, `"12"`, `"12.0"`); anything else (spaces, `1e3`, `1.5`) is undefined.
 */
export function toInt(value: unknown): number | undefined {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  const text = String(value);
  if (!/^-?[0-9]+\.?0*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isInteger(n) ? n : undefined;
}

/** The supervisor's string check: a non-empty string other than `"null"` and `"undefined"`. */
export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && !['', 'null', 'undefined'].includes(value) ? value : undefined;
}

/** A request body as the supervisor sees it (parsed only for JSON or urlencoded) and as recorded. */
export interface ParsedBody {
  /** What handlers read: `{}` unless the content type was JSON or urlencoded. */
  fields: Record<string, unknown>;
  /** What the record shows: the parsed value, the raw text for other types, undefined when empty. */
  recorded: unknown;
  /** The content type claimed JSON but the text is not a JSON object or array (the parser is strict). */
  invalid: boolean;
  /** Why an invalid body was refused (the parser's words). */
  problem?: string;
}

/** Parses a body the way the supervisor's body parsers do (JSON strict: an object or an array at the top). */
export function parseBody(contentType: string | undefined, raw: string): ParsedBody {
  if (raw === '') return { fields: {}, recorded: undefined, invalid: false };
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      const value: unknown = JSON.parse(raw);
      if (value === null || typeof value !== 'object') {
        return { fields: {}, recorded: value, invalid: true, problem: `Unexpected token ${JSON.stringify(raw.trim().charAt(0))} in JSON at position 0` };
      }
      return { fields: value as Record<string, unknown>, recorded: value, invalid: false };
    } catch (err) {
      return { fields: {}, recorded: raw, invalid: true, problem: (err as Error).message };
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const fields = Object.fromEntries(new URLSearchParams(raw));
    return { fields, recorded: fields, invalid: false };
  }
  return { fields: {}, recorded: raw, invalid: false };
}

/**
 * The key a request carries: a single non-empty `?apikey=` first (an empty or repeated one is
 * ignored), else `Authorization: Bearer|ApiKey <key>` with one space and a `\w+` key.
 */
export function keyOf(
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  headerAuthSupported: boolean,
): { key: string | undefined; kind: AuthKind } {
  const fromQuery = query.getAll('apikey');
  if (fromQuery.length === 1 && fromQuery[0]) return { key: fromQuery[0], kind: 'query' };
  const header = headers.authorization;
  if (header === undefined) return { key: undefined, kind: 'none' };
  const scheme = /^(bearer|apikey)\s/i.exec(header)?.[1]?.toLowerCase();
  if (scheme === undefined) return { key: undefined, kind: 'none' };
  const kind: AuthKind = scheme === 'bearer' ? 'bearer' : 'apikey-scheme';
  const key = /^(?:bearer|apikey) (\w+)$/i.exec(header)?.[1];
  return { key: headerAuthSupported ? key : undefined, kind };
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

/** Writes a route's reply: JSON, text (`text/html` unless `plain`), a stream, or no body. */
export function writeReply(res: ServerResponse, reply: SimReply): void {
  if (reply.stream) {
    reply.stream(res);
    return;
  }
  if (reply.json !== undefined) {
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(reply.json));
  } else if (reply.text !== undefined && reply.status !== 204) {
    res.writeHead(reply.status, { 'content-type': `text/${reply.plain ? 'plain' : 'html'}; charset=utf-8` });
    res.end(reply.text);
  } else {
    res.writeHead(reply.status);
    res.end();
  }
}

/** A 200 that is not what the API documents: HTML from a proxy (`not-json`), or JSON cut off mid-body (`truncated`). */
export function writeGarbage(res: ServerResponse, mode: 'not-json' | 'truncated'): void {
  if (mode === 'not-json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('<html><body>502 Bad Gateway</body></html>');
    return;
  }
  const partial = '{"status":"success","vers';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(partial.length + 100) });
  res.write(partial, () => res.destroy());
}
