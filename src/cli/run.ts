import { buildAgent } from '../agent/build.js';
import type { Agent } from '../agent/agent.js';
import { readBootId } from '../agent/boot-id.js';
import { AGENT_CLOUD_MANNERS } from '../agent/ports.js';
import { requireBalenaEnv, type BalenaEnv } from '../config/balena-env.js';
import { loadConfig } from '../config/load.js';
import { SETTINGS, type Config } from '../config/schema.js';
import { CloudClient } from '../cloud/client.js';
import { TagWriter } from '../cloud/tags.js';
import { LogsSocket } from '../http/logs-socket.js';
import { startHttpServer } from '../http/server.js';
import type { JournalFollow } from '../metrics/kernel-events.js';
import { buildRegistry, type MetricsRegistry } from '../metrics/registry.js';
import { systemSource } from '../metrics/sampler.js';
import type { Clock } from '../lib/clock.js';
import { ConfigError, describe } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { redactor } from '../lib/redact.js';
import { SupervisorClient } from '../supervisor/client.js';
import { kernelBootTimeMs } from '../logs/boot-time.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import { EXIT } from './exit.js';
import type { RunnersOf } from './commands.js';
import { agentVersion } from './local.js';
import type { CliContext } from './types.js';

/** How long a stop waits for requests in flight to end by themselves before they are cancelled. */
export const STOP_GRACE_MS = 3_000;

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

/** The boot id; a file that cannot be read is a setting to fix (exit 2), named with its path. */
async function bootIdAt(path: string): Promise<string> {
  try {
    return await readBootId(path);
  } catch (err) {
    const setting = SETTINGS.find((s) => s.key === 'bootIdPath')?.env ?? 'bootIdPath';
    throw new ConfigError([`${setting}=${JSON.stringify(path)}: ${describe(err)}; point it at the kernel's boot id file (default /proc/sys/kernel/random/boot_id)`]);
  }
}

/**
 * Stops the agent. Requests still in flight after STOP_GRACE_MS (a peer that accepted the
 * connection and never answers, a call that takes no signal) are cancelled by destroying the
 * dispatcher, so the process ends within seconds instead of waiting for their timeouts.
 */
async function stopAgent(agent: Agent, dispatcher: { destroy(): Promise<void> }, clock: Clock, log: Logger): Promise<void> {
  const stopping = agent.stop();
  const grace = new AbortController();
  const late = await Promise.race([
    stopping.then(() => false),
    clock.sleep(STOP_GRACE_MS, grace.signal).then(() => true, () => false),
  ]);
  grace.abort();
  if (late) {
    log.warn(`requests still in flight ${STOP_GRACE_MS / 1000} s after the stop; cancelling them`);
    await dispatcher.destroy().catch(() => undefined);
  }
  await stopping;
}

async function runAgent(ctx: CliContext): Promise<number> {
  parseCommandArgs(ctx.argv, 'run', COMMON_FLAGS);
  const { config, balena } = readSettings(ctx.env);
  const bootId = await bootIdAt(config.bootIdPath);
  // Only now: bad settings exit 2 (and the container restarts) without loading the HTTP client.
  const dispatcher = await ctx.dispatcher();
  const secrets = [balena.apiKey, balena.supervisorApiKey, config.httpToken].filter((s): s is string => !!s);
  const log = createLogger({ level: config.logLevel, secrets, wall: () => ctx.clock.wall() });
  // Everything else that leaves the agent (tags, /status, the page) is hidden by the same secrets.
  const redact = redactor(secrets);
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
  const tags = new TagWriter({ cloud, supervisor, clock: ctx.clock, log, redact });
  const localProblems: string[] = [];
  const journal: JournalFollow = (opts, signal) => supervisor.journalLogs(opts, signal);
  const agent = buildAgent({
    config, clock: ctx.clock, log, supervisor, cloud, tags, bootId, version: agentVersion(),
    localProblems: () => localProblems, metricsSource: systemSource(), journal,
    ...(balena.serviceName !== undefined ? { serviceName: balena.serviceName } : {}),
    ...(balena.deviceUuid !== undefined ? { uuid: balena.deviceUuid } : {}),
    ...(balena.appId !== undefined ? { appId: balena.appId } : {}),
    logs: {
      journal: supervisor, dispatcher, bootTimeMs: () => kernelBootTimeMs(),
      ...(balena.apiUrl && balena.apiKey ? { cloudApi: { baseUrl: balena.apiUrl, apiKey: balena.apiKey } } : {}),
    },
  });
  const stopped = new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const sources = agent.registrySources();
  let registry: Promise<MetricsRegistry> | undefined;
  const metrics = async (): Promise<string> => {
    registry ??= buildRegistry(sources).catch((err: unknown) => {
      registry = undefined;
      throw err;
    });
    return (await registry).metrics();
  };
  // Without its local server the agent still does its work; health says what is missing.
  const server = await startHttpServer({
    port: config.httpPort, bind: config.httpBind, token: config.httpToken, log, redact,
    healthz: () => agent.healthz(), status: () => agent.status(), metrics,
    ...(agent.logHub ? { logs: new LogsSocket({ hub: agent.logHub, redact }) } : {}),
  }).catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    const why = code === 'EADDRINUSE' ? 'port in use' : code === 'EADDRNOTAVAIL' ? 'address not on this device' : describe(err);
    localProblems.push(`local HTTP server not running (${config.httpBind}:${config.httpPort}: ${why}; set AGENT_HTTP_PORT)`);
    log.error({ err }, 'local HTTP server could not start; running without it');
    return undefined;
  });
  try {
    await agent.start();
  } catch (err) {
    // What did start (tasks, follows, the local server) must not keep a failed process alive.
    await stopAgent(agent, dispatcher, ctx.clock, log);
    await server?.close();
    throw err;
  }
  log.info({ url: server?.url, bootId, dataDir: config.dataDir }, 'fleet-agent running');
  await stopped;
  log.info('stopping');
  await stopAgent(agent, dispatcher, ctx.clock, log);
  await server?.close();
  log.info('stopped');
  log.flush();
  return EXIT.ok;
}

/** `run`. */
export const runners: RunnersOf<'run'> = { run: runAgent };
