import { isIP } from 'node:net';

// Parsers for whole numbers and the local HTTP server's settings (port, bind address, token).
// They import nothing but node:net, so the image's health probe reads these settings exactly as
// the agent does without loading the rest of the configuration.

/** Parses a whole number within [min, max]. */
export function parseInteger(raw: string, min: number, max: number): number {
  const text = raw.trim();
  if (!/^-?\d+$/.test(text)) throw new Error(`must be a whole number from ${min} to ${max}`);
  const n = Number(text);
  if (n < min || n > max) throw new Error(`must be a whole number from ${min} to ${max}`);
  return n;
}

/** Parses a TCP port 1–65535. */
export function parsePort(raw: string): number {
  return parseInteger(raw, 1, 65_535);
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses a bind address: IPv4, IPv6 (brackets optional, removed) or a hostname. */
export function parseBindAddress(raw: string): string {
  let text = raw.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (isIP(text) !== 0 || HOSTNAME.test(text)) return text;
  throw new Error('must be an IPv4 or IPv6 address or a hostname');
}

/** Whether a bind address only listens on loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  if (a === 'localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Parses a bearer token: at least 8 characters, no whitespace. The message never contains the value. */
export function parseToken(raw: string): string {
  const text = raw.trim();
  if (text.length < 8 || /\s/.test(text)) throw new Error('must be at least 8 characters without spaces');
  return text;
}

/** Why a server bound to `bind` without a token may not start (beyond loopback a token is required), or undefined. */
export function missingTokenProblem(bind: string, token: string | null): string | undefined {
  if (token !== null || isLoopback(bind)) return undefined;
  return `AGENT_HTTP_TOKEN is required when AGENT_HTTP_BIND=${JSON.stringify(bind.slice(0, 60))} is not a loopback address (127.0.0.1, ::1, localhost)`;
}

/** The address a client on this device dials to reach a server bound to `bind` (a wildcard means loopback). */
export function dialAddress(bind: string): string {
  if (bind === '0.0.0.0') return '127.0.0.1';
  if (bind === '::' || bind === '0:0:0:0:0:0:0:0') return '::1';
  return bind;
}
