import { Agent } from '../agent/agent.js';
import { readBootId } from '../agent/boot-id.js';
import { inactiveSettings } from '../agent/inactive.js';
import { AGENT_CLOUD_MANNERS } from '../agent/ports.js';
import { requireBalenaEnv, type BalenaEnv } from '../config/balena-env.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CloudClient } from '../cloud/client.js';
import { TagWriter } from '../cloud/tags.js';
import { startHttpServer } from '../http/server.js';
import { ConfigError, describe } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { SupervisorClient } from '../supervisor/client.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import { EXIT } from './exit.js';
import type { RunnersOf } from './commands.js';
import { agentVersion } from './local.js';
import type { CliContext } from './types.js';

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
  parseCommandArgs(ctx.argv, 'run', COMMON_FLAGS);
  const { config, balena } = readSettings(ctx.env);
  // Only now: bad settings exit 2 (and the container restarts) without loading the HTTP client.
  const dispatcher = await ctx.dispatcher();
  const secrets = [balena.apiKey, balena.supervisorApiKey, config.httpToken].filter((s): s is string => !!s);
  const log = createLogger({ level: config.logLevel, secrets, wall: () => ctx.clock.wall() });
  const supervisor = new SupervisorClient({
    baseUrl: balena.supervisorAddress ?? '', apiKey: balena.supervisorApiKey ?? '', appId: balena.appId ?? 0,
    dispatcher, clock: ctx.clock,
  });
  const cloud = new CloudClient({
    baseUrl: balena.apiUrl ?? '', apiKey: balena.apiKey ?? '', deviceUuid: balena.deviceUuid ?? '',
    dispatcher, clock: ctx.clock,
    requestLimit: { count: config.requestLimit, intervalMs: config.requestLimitIntervalMs },
    ...AGENT_CLOUD_MANNERS,
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

/** `run`. */
export const runners: RunnersOf<'run'> = { run: runAgent };
