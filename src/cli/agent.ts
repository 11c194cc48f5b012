import { readFileSync } from 'node:fs';
import { Agent } from '../agent/agent.js';
import { readBootId } from '../agent/boot-id.js';
import { inactiveSettings } from '../agent/inactive.js';
import { requireBalenaEnv, type BalenaEnv } from '../config/balena-env.js';
import { loadConfig } from '../config/load.js';
import { parsePort } from '../config/parsers.js';
import type { Config } from '../config/schema.js';
import { CloudClient } from '../cloud/client.js';
import { TagWriter } from '../cloud/tags.js';
import { startHttpServer } from '../http/server.js';
import { ConfigError, UnreachableError, UsageError, describe } from '../lib/errors.js';
import { send } from '../lib/http.js';
import { createLogger } from '../lib/logger.js';
import { SupervisorClient } from '../supervisor/client.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import { EXIT } from './exit.js';
import type { CliContext, Command } from './types.js';

/** The agent's version, from its package.json ("unknown" when it cannot be read). */
export function agentVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Reads settings and the balena environment, reporting every problem of both at once. */
function readSettings(env: CliContext['env']): { config: Config; balena: BalenaEnv } {
  const problems: string[] = [];
  let config: Config | undefined;
  let balena: BalenaEnv | undefined;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    balena = requireBalenaEnv(env, ['supervisor', 'app', 'cloud']);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (!config || !balena || problems.length > 0) throw new ConfigError(problems);
  return { config, balena };
}

async function runAgent(ctx: CliContext): Promise<number> {
  parseCommandArgs(ctx.argv, COMMON_FLAGS, { min: 0, max: 0, usage: 'fleet-agent run' });
  const { config, balena } = readSettings(ctx.env);
  const secrets = [balena.apiKey, balena.supervisorApiKey, config.httpToken].filter((s): s is string => !!s);
  const log = createLogger({ level: config.logLevel, secrets, wall: () => ctx.clock.wall() });
  const supervisor = new SupervisorClient({
    baseUrl: balena.supervisorAddress ?? '', apiKey: balena.supervisorApiKey ?? '', appId: balena.appId ?? 0,
    dispatcher: ctx.dispatcher, clock: ctx.clock,
  });
  const cloud = new CloudClient({
    baseUrl: balena.apiUrl ?? '', apiKey: balena.apiKey ?? '', deviceUuid: balena.deviceUuid ?? '',
    dispatcher: ctx.dispatcher, clock: ctx.clock,
    requestLimit: { count: config.requestLimit, intervalMs: config.requestLimitIntervalMs },
  });
  const tags = new TagWriter({ cloud, supervisor, log });
  const bootId = await readBootId(config.bootIdPath);
  const localProblems: string[] = [];
  const agent = new Agent({
    config, clock: ctx.clock, log, supervisor, cloud, tags, bootId, version: agentVersion(),
    localProblems: () => localProblems,
    ...(balena.serviceName !== undefined ? { serviceName: balena.serviceName } : {}),
  });
  const stopped = new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // Without its local server the agent still does its work; health says what is missing.
  const server = await startHttpServer({
    port: config.httpPort, bind: config.httpBind, token: config.httpToken, log,
    healthz: () => agent.healthz(), status: () => agent.status(),
  }).catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    const why = code === 'EADDRINUSE' ? 'port in use' : code === 'EADDRNOTAVAIL' ? 'address not on this device' : describe(err);
    localProblems.push(`local HTTP server not running (${config.httpBind}:${config.httpPort}: ${why}; set AGENT_HTTP_PORT)`);
    log.error({ err }, 'local HTTP server could not start; running without it');
    return undefined;
  });
  await agent.start();
  log.info({ url: server?.url, bootId, dataDir: config.dataDir }, 'fleet-agent running');
  const inactive = inactiveSettings(config);
  if (inactive.length > 0) log.warn({ settings: inactive }, `set but not active in this version (accepted, no effect): ${inactive.join(', ')}`);
  await stopped;
  log.info('stopping');
  await agent.stop();
  await server?.close();
  log.info('stopped');
  log.flush();
  return EXIT.ok;
}

interface HealthReply {
  ok?: unknown;
  state?: unknown;
  reasons?: unknown;
}

async function health(ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(ctx.argv, COMMON_FLAGS, { min: 0, max: 0, usage: 'fleet-agent health [--json]' });
  const portText = ctx.env.AGENT_HTTP_PORT?.trim() || '48485';
  try {
    parsePort(portText);
  } catch (err) {
    throw new UsageError(`AGENT_HTTP_PORT="${portText.slice(0, 20)}": ${(err as Error).message}`);
  }
  const token = ctx.env.AGENT_HTTP_TOKEN?.trim();
  let reply: HealthReply;
  try {
    // Any status: /healthz answers 503 with its reasons when the agent is stuck.
    const res = await send(
      { peer: 'agent', baseUrl: `http://127.0.0.1:${portText}`, timeoutMs: 5_000, dispatcher: ctx.dispatcher, maxBodyBytes: 64 * 1024 },
      { method: 'GET', path: '/healthz', headers: token ? { authorization: `Bearer ${token}` } : {}, signal: ctx.signal },
    );
    reply = JSON.parse(res.text) as HealthReply;
  } catch (err) {
    throw new UnreachableError('agent', 'UNREACHABLE', `no agent answers on 127.0.0.1:${portText} (${describe(err)})`);
  }
  const state = typeof reply.state === 'string' ? reply.state : reply.ok === true ? 'ok' : 'failing';
  const reasons = Array.isArray(reply.reasons) ? reply.reasons.filter((r): r is string => typeof r === 'string') : [];
  ctx.out(values.json ? JSON.stringify({ ok: state !== 'failing', state, reasons }) : state === 'ok' ? 'ok' : `${state}: ${reasons.join('; ') || 'no reason given'}`);
  // Same verdict as /healthz (the image's HEALTHCHECK): degraded still does its work.
  return state === 'failing' ? EXIT.failure : EXIT.ok;
}

/** The agent commands. */
export const agentCommands: readonly Command[] = [
  {
    name: 'version',
    summary: "print fleet-agent's version (also --version)",
    usage: 'fleet-agent version [--json]',
    run(ctx) {
      const { values } = parseCommandArgs(ctx.argv, COMMON_FLAGS, { min: 0, max: 0, usage: this.usage });
      ctx.out(values.json ? JSON.stringify({ version: agentVersion() }) : agentVersion());
      return Promise.resolve(EXIT.ok);
    },
  },
  {
    name: 'run',
    summary: 'run the agent: poll tags, carry out commands exactly once, report health',
    usage: 'fleet-agent run',
    run: runAgent,
  },
  {
    name: 'health',
    summary: "print the running agent's health (ok, degraded or failing, with reasons); exit 1 only when failing",
    usage: 'fleet-agent health [--json]',
    run: health,
  },
];
