import { AgentError, HttpError, UnreachableError, describe } from '../lib/errors.js';
import type { CliContext } from './types.js';

/** Exit codes of PRODUCT §1. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
  locked: 4,
  unauthorised: 5,
} as const;

/** The exit code an error maps to. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UnreachableError) return EXIT.unreachable;
  if (err instanceof HttpError) {
    if (err.status === 423) return EXIT.locked;
    if (err.status === 401 || err.status === 403) return EXIT.unauthorised;
    return EXIT.failure;
  }
  if (err instanceof AgentError && (err.code === 'CONFIG' || err.code === 'USAGE')) return EXIT.usage;
  return EXIT.failure;
}

/** Prints an error (one line, or one JSON document) and returns its exit code. */
export function reportError(ctx: CliContext, err: unknown, json: boolean): number {
  const code = err instanceof AgentError ? err.code : 'INTERNAL';
  const message = describe(err);
  if (json) {
    const problems = (err as { problems?: readonly string[] }).problems;
    ctx.out(JSON.stringify({ ok: false, error: { code, message, ...(problems ? { problems } : {}) } }));
  } else if ((err as { problems?: readonly string[] }).problems) {
    ctx.err(`fleet-agent: ${err instanceof Error ? err.message : message}`);
  } else {
    ctx.err(`fleet-agent: ${message}`);
  }
  return exitCodeFor(err);
}
