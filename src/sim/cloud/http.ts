/** Request context and reply helpers shared by the cloud simulator's routes. */
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import type { Actor } from './permissions.js';
import type { SimStore } from './store.js';

/** What a route answers; the server writes it (and applies the reply faults). */
export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** Where the simulator's supervisor proxy forwards to. */
export interface ProxyTarget {
  readonly url: string;
  readonly apiKey: string;
}

/** Everything a route handler needs about one request. */
export interface SimContext {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly rawQuery: string;
  readonly actor: Actor | undefined;
  readonly store: SimStore;
  readonly clock: Clock;
  readonly supervisor: ProxyTarget | undefined;
  /** Set by the route: the parsed body, for the request record. */
  body: unknown;
}

/** A JSON reply. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value) };
}

/** A plain-text reply (pine sends its error messages as text). */
export function text(status: number, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body: message };
}

/** An empty reply. */
export function empty(status: number): Reply {
  return { status };
}

/** 401 as the real API answers a missing or unpermitted credential. */
export const UNAUTHORIZED: Reply = text(401, 'Unauthorized');

/** A request body that could not be read or parsed. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

const MAX_BODY = 16 * 1024 * 1024;

/** Reads the whole request body (bounded). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) throw new BodyError(413, 'Payload Too Large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Reads and parses a JSON body; an empty body is `undefined`. */
export async function readJson(ctx: SimContext): Promise<unknown> {
  const raw = (await readBody(ctx.req)).toString('utf8');
  if (raw.trim() === '') return undefined;
  try {
    ctx.body = JSON.parse(raw) as unknown;
  } catch {
    ctx.body = raw;
    throw new BodyError(400, 'Invalid JSON body');
  }
  return ctx.body;
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
