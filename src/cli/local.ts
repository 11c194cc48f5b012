import { readFileSync } from 'node:fs';
import { probeHealth, probeLine } from '../http/probe.js';
import { UnreachableError, UsageError } from '../lib/errors.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import type { Runner, RunnersOf } from './commands.js';
import { EXIT } from './exit.js';

/** The agent's version, from its package.json ("unknown" when it cannot be read). */
export function agentVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const version: Runner = (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'version', COMMON_FLAGS);
  ctx.out(values.json ? JSON.stringify({ version: agentVersion() }) : agentVersion());
  return Promise.resolve(EXIT.ok);
};

/** The running agent's health through the same probe as the image's HEALTHCHECK. */
const health: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'health', COMMON_FLAGS);
  const result = await probeHealth(ctx.env);
  if (result.state === 'misconfigured') throw new UsageError(result.reasons.join('; '));
  if (result.state === 'unreachable') throw new UnreachableError('agent', 'UNREACHABLE', result.reasons.join('; '));
  ctx.out(values.json ? JSON.stringify({ ok: result.state !== 'failing', state: result.state, reasons: result.reasons }) : probeLine(result));
  // Same verdict as /healthz (the image's HEALTHCHECK): degraded still does its work.
  return result.state === 'failing' ? EXIT.failure : EXIT.ok;
};

/** Commands that need neither the supervisor nor the cloud: `version`, `health`. */
export const runners: RunnersOf<'local'> = { version, health };
