import { requireBalenaEnv } from '../config/balena-env.js';
import { parseInteger } from '../config/net.js';
import { parseDuration } from '../config/parsers.js';
import { UsageError } from '../lib/errors.js';
import { parseJson } from '../lib/http.js';
import { SupervisorClient } from '../supervisor/client.js';
import type { ServiceAction } from '../supervisor/types.js';
import { describeVersion, PRE_VERSION_ENDPOINT } from '../supervisor/version.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import { EXIT } from './exit.js';
import { usageOf, type Runner, type RunnersOf } from './commands.js';
import type { CliContext } from './types.js';

const BASE = { ...COMMON_FLAGS, timeout: { type: 'string', default: '10s' } } as const;
const WITH_FORCE = { ...BASE, force: { type: 'boolean', default: false } } as const;

/** Parses `--timeout` with the settings' duration parser (`500ms`, `10s`, `2m`, bare seconds), at least 1 ms. */
export function parseTimeout(text: string): number {
  try {
    return parseDuration(text, { min: 1 });
  } catch (err) {
    throw new UsageError(`--timeout ${(err as Error).message}, got "${text.slice(0, 20)}"`);
  }
}

/** Parses `--count`: a plain whole number of lines from 1 to 1,000,000 (no `1e3`, `0x10` or `2.0`). */
export function parseCount(text: string): number {
  try {
    return parseInteger(text, 1, 1_000_000);
  } catch (err) {
    throw new UsageError(`--count ${(err as Error).message}, got "${text.slice(0, 20)}"`);
  }
}

async function connect(ctx: CliContext, timeout: string): Promise<SupervisorClient> {
  const timeoutMs = parseTimeout(timeout);
  const env = requireBalenaEnv(ctx.env, ['supervisor', 'app']);
  return new SupervisorClient({
    baseUrl: env.supervisorAddress ?? '',
    apiKey: env.supervisorApiKey ?? '',
    appId: env.appId ?? 0,
    dispatcher: await ctx.dispatcher(),
    clock: ctx.clock,
    timeoutMs,
  });
}

/** The supervisor version as shown: "a supervisor older than 7.21.0" (JSON null) when it has no version endpoint. */
async function shownVersion(client: SupervisorClient): Promise<{ label: string; value: string | null }> {
  const version = await client.version();
  return { label: describeVersion(version), value: version === PRE_VERSION_ENDPOINT ? null : version };
}

/** Prints one line, or with --json one document `{ok: true, ...doc}`. */
function print(ctx: CliContext, json: boolean, doc: Record<string, unknown>, line: string): number {
  ctx.out(json ? JSON.stringify({ ok: true, ...doc }) : line);
  return EXIT.ok;
}

const ping: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'ping', BASE);
  const client = await connect(ctx, values.timeout);
  const started = ctx.clock.now();
  await client.ping(ctx.signal);
  const ms = Math.round(ctx.clock.now() - started);
  return print(ctx, values.json, { command: 'ping', ms }, `supervisor is up (answered in ${ms} ms)`);
};

const identify: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'identify', BASE);
  const client = await connect(ctx, values.timeout);
  await client.blink();
  const version = await shownVersion(client);
  return print(ctx, values.json, { command: 'identify', supervisorVersion: version.value }, `identify requested: the LED blinks for 15 s (supervisor ${version.label})`);
};

function deviceAction(name: 'reboot' | 'shutdown'): Runner {
  return async (ctx) => {
    const { values } = parseCommandArgs(ctx.argv, name, WITH_FORCE);
    const client = await connect(ctx, values.timeout);
    await (name === 'reboot' ? client.reboot({ force: values.force }) : client.shutdown({ force: values.force }));
    const version = await shownVersion(client);
    const forced = values.force ? ', update locks overridden' : '';
    return print(ctx, values.json, { command: name, force: values.force, supervisorVersion: version.value }, `${name} requested${forced} (supervisor ${version.label})`);
  };
}

const update: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'update', WITH_FORCE);
  const client = await connect(ctx, values.timeout);
  const outcome = await client.update({ force: values.force });
  const version = await shownVersion(client);
  const line =
    outcome === 'triggered'
      ? `update check triggered${values.force ? ', update locks overridden' : ''} (supervisor ${version.label})`
      : `update check ignored: instant updates are off on this device; use --force to trigger it (supervisor ${version.label})`;
  return print(ctx, values.json, { command: 'update', force: values.force, outcome, supervisorVersion: version.value }, line);
};

const restartApp: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'restart-app', WITH_FORCE);
  const client = await connect(ctx, values.timeout);
  await client.restartApp({ force: values.force });
  const version = await shownVersion(client);
  const line = `restart of app ${client.appId} requested: its containers are recreated (supervisor ${version.label})`;
  return print(ctx, values.json, { command: 'restart-app', appId: client.appId, force: values.force, supervisorVersion: version.value }, line);
};

const purge: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'purge', { ...WITH_FORCE, yes: { type: 'boolean', default: false } } as const);
  if (!values.yes) throw new UsageError('purge deletes every volume of this app, /data included, and recreates its containers; pass --yes to confirm');
  const client = await connect(ctx, values.timeout);
  await client.purge({ force: values.force });
  const version = await shownVersion(client);
  const line = `purge of app ${client.appId} requested: its volumes are wiped and its containers recreated (supervisor ${version.label})`;
  return print(ctx, values.json, { command: 'purge', appId: client.appId, force: values.force, supervisorVersion: version.value }, line);
};

function serviceCommand(action: ServiceAction): Runner {
  const name = `${action}-service` as const;
  return async (ctx) => {
    const { values, positionals } = parseCommandArgs(ctx.argv, name, WITH_FORCE, { min: 1, max: 1 });
    const target = (positionals[0] ?? '').trim();
    if (target === '') throw new UsageError(`${name} needs a service name or image id; usage: ${usageOf(name)}`);
    const client = await connect(ctx, values.timeout);
    await client.serviceAction(action, target, { force: values.force });
    const version = await shownVersion(client);
    const byId = /^\d+$/.test(target);
    const what = byId ? `the service with image id ${target}` : `service "${target}"`;
    const doc = { command: name, ...(byId ? { imageId: Number(target) } : { serviceName: target }), force: values.force, supervisorVersion: version.value };
    return print(ctx, values.json, doc, `${action} of ${what} requested (supervisor ${version.label})`);
  };
}

const state: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'state', BASE);
  const client = await connect(ctx, values.timeout);
  const version = await shownVersion(client);
  const [device, apps, status] = await Promise.all([client.deviceState(), client.applicationsState(), client.stateStatus()]);
  const appParts = Object.entries(apps).map(([appName, app]) => {
    const services = Object.entries(app.services).map(([svc, s]) => `${svc} ${s.status}`).join(', ');
    return `app ${appName} (${app.appId}) ${status.appState}, release ${app.commit.slice(0, 7)}: ${services || 'no services'}`;
  });
  const line = [`supervisor ${version.label}`, ...appParts, `os ${device.os_version ?? 'unknown'}`, `ip ${device.ip_address ?? 'unknown'}`].join(' · ');
  return print(ctx, values.json, { command: 'state', supervisorVersion: version.value, device, apps, status }, line);
};

const logs: Runner = async (ctx) => {
  const flags = { ...BASE, follow: { type: 'boolean', default: false }, unit: { type: 'string' }, count: { type: 'string' } } as const;
  const { values } = parseCommandArgs(ctx.argv, 'logs', flags);
  const count = values.count === undefined ? undefined : parseCount(values.count);
  const client = await connect(ctx, values.timeout);
  const stream = client.journalLogs(
    { follow: values.follow, format: values.json ? 'json' : 'short', ...(count !== undefined ? { count } : {}), ...(values.unit !== undefined ? { unit: values.unit } : {}) },
    ctx.signal,
  );
  if (values.json && !values.follow) {
    const entries: unknown[] = [];
    for await (const line of stream) entries.push(parseJson('supervisor', 'POST /v2/journal-logs', line));
    return print(ctx, true, { command: 'logs', entries }, '');
  }
  for await (const line of stream) ctx.out(line);
  return EXIT.ok;
};

/** The supervisor one-shots: the balena SDK's on-device functions, plus state and logs. */
export const runners: RunnersOf<'supervisor'> = {
  ping,
  identify,
  reboot: deviceAction('reboot'),
  shutdown: deviceAction('shutdown'),
  update,
  'restart-app': restartApp,
  purge,
  'restart-service': serviceCommand('restart'),
  'stop-service': serviceCommand('stop'),
  'start-service': serviceCommand('start'),
  state,
  logs,
};
