import { readBalenaEnv, requireBalenaEnv } from '../config/balena-env.js';
import { checkTagKey, CloudClient } from '../cloud/client.js';
import type { EffectiveVariable } from '../cloud/types.js';
import { AgentError, UsageError, describe } from '../lib/errors.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import { EXIT } from './exit.js';
import { usageOf, type Runner, type RunnersOf } from './commands.js';
import type { CliContext } from './types.js';

async function cloudClient(ctx: CliContext): Promise<CloudClient> {
  const env = requireBalenaEnv(ctx.env, ['cloud']);
  return new CloudClient({
    baseUrl: env.apiUrl ?? '',
    apiKey: env.apiKey ?? '',
    deviceUuid: env.deviceUuid ?? '',
    dispatcher: await ctx.dispatcher(),
    clock: ctx.clock,
    timeoutMs: 15_000,
    maxRetries: 2,
    maxRetryWaitMs: 30_000,
  });
}

/** Two aligned columns (or more), one row per line. */
function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

/** One line of text for a value that may hold newlines. */
function oneLine(value: string): string {
  return value.replace(/\r?\n/g, '\\n');
}

const TAGS_USAGE = usageOf('tags');

const tags: Runner = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, 'tags', COMMON_FLAGS, { min: 0, max: 3 });
  const [sub, key, value] = positionals;
  const arity: Record<string, number> = { get: 2, set: 3, rm: 2 };
  if (sub !== undefined && arity[sub] !== positionals.length) {
    throw new UsageError(arity[sub] === undefined ? `unknown tags action "${sub.slice(0, 20)}"; usage: ${TAGS_USAGE}` : `wrong number of arguments; usage: ${TAGS_USAGE}`);
  }
  if (sub !== undefined) {
    try {
      checkTagKey(key ?? '');
    } catch (err) {
      throw new UsageError(`${describe(err)}; usage: ${TAGS_USAGE}`);
    }
  }
  const client = await cloudClient(ctx);
  if (sub === undefined) {
    const all = await client.tags(ctx.signal);
    const keys = Object.keys(all).sort();
    if (values.json) ctx.out(JSON.stringify({ ok: true, tags: Object.fromEntries(keys.map((k) => [k, all[k]])) }));
    else ctx.out(keys.length === 0 ? 'no tags on this device' : table(keys.map((k) => [k, oneLine(all[k] ?? '')])));
    return EXIT.ok;
  }
  const k = key ?? '';
  const notSet = (): AgentError => new AgentError('NOT_FOUND', `tag "${k.slice(0, 100)}" is not set on this device`);
  if (sub === 'get') {
    const found = (await client.tags(ctx.signal))[k];
    if (found === undefined) throw notSet();
    ctx.out(values.json ? JSON.stringify({ ok: true, key: k, value: found }) : found);
  } else if (sub === 'set') {
    await client.setTag(k, value ?? '', ctx.signal);
    ctx.out(values.json ? JSON.stringify({ ok: true, key: k, value }) : `tag ${k} set`);
  } else {
    // The API answers 200 to a delete that matched nothing: ask first, so "removed" is true.
    if ((await client.tags(ctx.signal))[k] === undefined) throw notSet();
    await client.removeTag(k, ctx.signal);
    ctx.out(values.json ? JSON.stringify({ ok: true, key: k, removed: true }) : `tag ${k} removed`);
  }
  return EXIT.ok;
};

function sourceText(v: EffectiveVariable): string {
  const source = v.service !== undefined ? `${v.source} (${v.service})` : v.source;
  return v.overrides.length > 0 ? `${source}, overrides ${v.overrides.join(', ')}` : source;
}

const env: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'env', { ...COMMON_FLAGS, service: { type: 'string' } });
  const client = await cloudClient(ctx);
  const service = values.service ?? readBalenaEnv(ctx.env).serviceName;
  const vars = await client.variables(service, ctx.signal);
  if (values.json) {
    ctx.out(JSON.stringify({ ok: true, ...vars }));
    return EXIT.ok;
  }
  const rows = (list: readonly EffectiveVariable[]): string[][] => list.map((v) => [v.name, oneLine(v.value), sourceText(v)]);
  const lines: string[] = [`variables for service ${service ?? '(none given: all-services variables only)'}`];
  lines.push(vars.env.length > 0 ? table([['NAME', 'VALUE', 'SOURCE'], ...rows(vars.env)]) : 'no environment variables');
  if (vars.config.length > 0) lines.push('', table([['CONFIG', 'VALUE', 'SOURCE'], ...rows(vars.config)]));
  ctx.out(lines.join('\n'));
  return EXIT.ok;
};

/** The cloud commands: `tags`, `env`. */
export const runners: RunnersOf<'cloud'> = { tags, env };
