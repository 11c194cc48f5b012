import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { COMMON_FLAGS, parseCommandArgs } from '../cli/args.js';
import type { Runner } from '../cli/commands.js';
import { EXIT } from '../cli/exit.js';
import type { CliContext } from '../cli/types.js';
import { UsageError } from '../lib/errors.js';
import { CloudSimulator, DEMO, demoSeed } from './cloud/simulator.js';
import { behaviourLines, DEMO_WATCHDOG, reportLine } from './demo-behaviours.js';
import { CONSOLE_HELP, parseSwitch } from './demo-console.js';
import { extraDevices, MAX_DEMO_DEVICES, runDeviceAgent, runExtraDevices, sendTags } from './demo-fleet.js';
import { SupervisorSimulator } from './supervisor/simulator.js';

/** What `demo --json` prints first, for scripts. */
export interface DemoInfo {
  supervisorUrl: string;
  supervisorKey: string;
  cloudUrl: string;
  operatorKey: string;
  deviceUuid: string;
  deviceKey: string;
  appId: number;
  /** Each simulated service's health check URL (what `AGENT_CHECK_<SERVICE>` can point to). */
  checkUrls: Record<string, string>;
  /** Every device of the demo's fleet, the demo device first (`--devices`). */
  devices: { name: string; uuid: string }[];
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** Settings the demo gives the agent unless the caller's environment sets them. */
function demoSettings(dataDir: string, env: CliContext['env']): Record<string, string> {
  const settings: Record<string, string> = {
    AGENT_POLL_INTERVAL: '10s',
    AGENT_START_SPREAD: '0s',
    AGENT_LOG_LEVEL: 'warn',
    // Short enough to see a command end `blocked` while the console's lock is held.
    AGENT_LOCK_WAIT: '1m',
    // The watchdog on, looking often: a service broken from the console is seen within seconds.
    ...DEMO_WATCHDOG,
    // The host journal forwarded to the device's log stream in the simulated cloud.
    AGENT_LOGS_FORWARD: 'cloud',
    AGENT_DATA_DIR: join(dataDir, 'agent'),
    AGENT_BOOT_ID_PATH: join(dataDir, 'boot_id'),
  };
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('AGENT_') && value !== undefined) settings[key] = value;
  }
  return settings;
}

/** `--devices N`: how many devices the demo's fleet has (the demo device included). */
function parseDevices(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_DEMO_DEVICES) {
    throw new UsageError(`--devices must be a whole number from 1 to ${MAX_DEMO_DEVICES}, not "${raw.slice(0, 20)}"`);
  }
  return Number(raw);
}

/** What the extra devices of `--devices` run with: the demo's settings, quieter, without the demo device's own. */
function extraSettings(settings: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...settings, AGENT_LOG_LEVEL: 'error', AGENT_LOGS_FORWARD: 'none', AGENT_WATCHDOG: 'off' };
  for (const key of ['AGENT_DATA_DIR', 'AGENT_BOOT_ID_PATH', 'AGENT_HTTP_PORT', 'AGENT_CHECK_MAIN']) delete out[key];
  return out;
}

/** Lines that set a staged fleet rollout and show who is in which wave (with `--devices`). */
async function rolloutLines(info: DemoInfo, uuids: readonly string[], dataDir: string, prefix: string): Promise<string[]> {
  const uuidFile = join(dataDir, 'uuids.txt');
  await writeFile(uuidFile, `${uuids.join('\n')}\n`);
  const cli = `node ${relative(process.cwd(), fileURLToPath(new URL('../main.js', import.meta.url)))}`;
  const tags = `${info.cloudUrl}/v7/application_tag`;
  const auth = `-H 'Authorization: Bearer ${info.operatorKey}' -H 'Content-Type: application/json'`;
  return [
    `A fleet of ${uuids.length} devices. Reboot it in waves of 25 % every 30 s (each device finds its own wave):`,
    `  curl -s -X POST ${auth} \\`,
    `       -d '{"application":${info.appId},"tag_key":"${prefix}reboot","value":"wave1 rollout=25%/30s"}' '${tags}'`,
    'Who is in which wave, and when it starts (t0 = when each device first sees the tag):',
    `  ${cli} waves --rollout 25%/30s --token wave1 < ${uuidFile}`,
    'Abort: devices that have not started ack "cancelled":',
    `  curl -s -X PATCH ${auth} \\`,
    `       -d '{"value":"wave1 abort"}' "${tags}(application=${info.appId},tag_key='${prefix}reboot')"`,
    '',
  ];
}

/** Lines a person can paste to act as the operator. */
function tryLines(info: DemoInfo, deviceId: number, settings: Record<string, string>): string[] {
  // This very CLI, by path: works from a checkout where `fleet-agent` is not on PATH.
  const cli = `node ${relative(process.cwd(), fileURLToPath(new URL('../main.js', import.meta.url)))}`;
  const tag = `${info.cloudUrl}/v7/device_tag`;
  // What `health` and `doctor` need to find this agent: its data dir and its local server.
  const local = ['AGENT_DATA_DIR', 'AGENT_HTTP_PORT', 'AGENT_HTTP_BIND', 'AGENT_HTTP_TOKEN']
    .filter((name) => settings[name] !== undefined)
    .map((name) => `${name}=${settings[name]}`)
    .join(' ');
  return [
    'Set a command tag as an operator would (first time: POST; later tokens: PATCH):',
    `  curl -s -X POST -H 'Authorization: Bearer ${info.operatorKey}' -H 'Content-Type: application/json' \\`,
    `       -d '{"device":${deviceId},"tag_key":"agent.reboot","value":"demo1"}' '${tag}'`,
    `  curl -s -X PATCH -H 'Authorization: Bearer ${info.operatorKey}' -H 'Content-Type: application/json' \\`,
    `       -d '{"value":"demo2"}' "${tag}(device=${deviceId},tag_key='agent.reboot')"`,
    'Or with the balena SDK (Node >= 22.18):',
    `  const balena = require('balena-sdk').getSdk({ apiUrl: '${info.cloudUrl}/', dataDirectory: false });`,
    `  await balena.auth.loginWithToken('${info.operatorKey}');`,
    `  await balena.models.device.tags.set('${info.deviceUuid}', 'agent.reboot', 'demo1');`,
    'Or the CLI, as the device itself:',
    `  BALENA_SUPERVISOR_ADDRESS=${info.supervisorUrl} BALENA_SUPERVISOR_API_KEY=${info.supervisorKey} BALENA_APP_ID=${info.appId} \\`,
    `  BALENA_API_URL=${info.cloudUrl} BALENA_API_KEY=${info.deviceKey} BALENA_DEVICE_UUID=${info.deviceUuid} \\`,
    `  BALENA_SERVICE_NAME=fleet-agent ${local} \\`,
    `  ${cli} doctor   # or: health, env, tags, state, reboot, …`,
  ];
}

/**
 * `fleet-agent demo`: starts both simulators and runs the agent against them until interrupted;
 * prints what happens, and reads fault switches from stdin.
 */
export const runDemo: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'demo', { ...COMMON_FLAGS, devices: { type: 'string', default: '1' } });
  const json = values.json;
  const count = parseDevices(values.devices);
  const print = (event: string, detail: Record<string, unknown>, text: string): void =>
    ctx.out(json ? JSON.stringify({ event, ...detail }) : text);

  const dataDir = await mkdtemp(join(tmpdir(), 'fleet-agent-demo-'));
  const info: DemoInfo = {
    supervisorUrl: '',
    supervisorKey: hex(16),
    cloudUrl: '',
    operatorKey: hex(16),
    deviceUuid: DEMO.deviceUuid,
    deviceKey: hex(16),
    appId: DEMO.fleetId,
    checkUrls: {},
    devices: [],
  };
  const settings = demoSettings(dataDir, ctx.env);
  settings.AGENT_HTTP_PORT ??= '48485';
  const globalKey = hex(16);
  const supervisor = new SupervisorSimulator({
    apiKey: info.supervisorKey,
    globalApiKey: globalKey,
    appId: info.appId,
    appName: 'demo-fleet',
    version: '19.0.5',
    deviceName: 'demo-device',
    bootIdPath: settings.AGENT_BOOT_ID_PATH ?? join(dataDir, 'boot_id'),
    // Like the real supervisor: tags queued with it are sent to the cloud with the device key.
    onTagsPatch: (tags) => sendTags(ctx, info.cloudUrl, info.deviceUuid, info.deviceKey, tags),
  });
  info.supervisorUrl = await supervisor.start();
  info.checkUrls = Object.fromEntries(supervisor.services.map((s) => [s.name, supervisor.checkUrl(s.name)]));
  // The watchdog also asks main's health check (a hung main is found through it).
  if (info.checkUrls.main !== undefined) settings.AGENT_CHECK_MAIN ??= info.checkUrls.main;
  const extras = extraDevices(count - 1, info.appId);
  info.devices = [{ name: 'demo-device', uuid: info.deviceUuid }, ...extras.map((d) => ({ name: d.device_name, uuid: d.uuid }))];
  const seed = demoSeed(info);
  seed.devices = [...(seed.devices ?? []), ...extras];
  const cloud = new CloudSimulator({ seed, supervisor: { url: info.supervisorUrl, apiKey: globalKey } });
  info.cloudUrl = await cloud.start();

  const agentEnv = {
    ...settings,
    BALENA_SUPERVISOR_ADDRESS: info.supervisorUrl,
    BALENA_SUPERVISOR_API_KEY: info.supervisorKey,
    BALENA_APP_ID: String(info.appId),
    BALENA_DEVICE_UUID: info.deviceUuid,
    BALENA_API_URL: info.cloudUrl,
    BALENA_API_KEY: info.deviceKey,
    BALENA_DEVICE_TYPE: 'raspberrypi4-64',
    BALENA_DEVICE_ARCH: 'aarch64',
    BALENA_SERVICE_NAME: 'fleet-agent',
  };

  const prefix = settings.AGENT_TAG_PREFIX ?? 'agent.';
  if (json) ctx.out(JSON.stringify(info));
  else {
    ctx.out(
      [
        'fleet-agent demo: a simulated device, its supervisor and the balena API, all on 127.0.0.1',
        `  supervisor  ${info.supervisorUrl}  (key ${info.supervisorKey})`,
        `  checks      ${info.supervisorUrl}/sim/check/<service>  (${Object.keys(info.checkUrls).join(', ')}: each service's health check)`,
        `  balena API  ${info.cloudUrl}  (operator key ${info.operatorKey})`,
        `  device      ${info.deviceUuid}  in fleet ${info.appId} (demo-fleet)`,
        `  agent       http://127.0.0.1:${settings.AGENT_HTTP_PORT}/  (status page), polling every ${settings.AGENT_POLL_INTERVAL}`,
        '',
        ...tryLines(info, DEMO.deviceId, settings),
        '',
        ...(extras.length > 0 ? await rolloutLines(info, [info.deviceUuid, ...extras.map((d) => d.uuid)], dataDir, prefix) : []),
        ...behaviourLines({ cloudUrl: info.cloudUrl, operatorKey: info.operatorKey, deviceId: DEMO.deviceId }, {
          prefix, watchdog: settings.AGENT_WATCHDOG, watchdogInterval: settings.AGENT_WATCHDOG_INTERVAL,
          checked: settings.AGENT_CHECK_MAIN === undefined ? undefined : 'main',
        }, ctx.clock.wall()),
        '',
        CONSOLE_HELP,
        '',
        'Watching (Ctrl-C to stop):',
      ].join('\n'),
    );
  }

  // Show what happens: every request the device made to the API (its polls, and the backoff
  // after a 429 or an outage), tag changes (acks and the behaviours' reports on lines of their
  // own), and every call that reached the supervisor.
  let shown = { ...cloud.deviceTags(info.deviceUuid) };
  const offCloud = cloud.onRequest((r) => {
    if (r.auth === 'device' && r.path.endsWith('/log-stream')) {
      const lines = Array.isArray(r.body) ? r.body.length : 0;
      print('logs', { lines, status: r.status, at: r.at }, `logs        ${new Date(r.at).toISOString().slice(11, 19)} ${lines} journal line(s) forwarded to the cloud log stream → ${r.status}`);
    } else if (r.auth === 'device') {
      const at = new Date(r.at).toISOString().slice(11, 19);
      const outcome = r.status === 0 ? 'connection reset' : String(r.status);
      print('cloud', { method: r.method, path: r.path, status: r.status, at: r.at }, `cloud       ${at} ${r.method} ${r.path} → ${outcome}`);
    }
    const now = cloud.deviceTags(info.deviceUuid);
    for (const key of new Set([...Object.keys(shown), ...Object.keys(now)])) {
      if (shown[key] === now[key]) continue;
      const value = now[key];
      if (value === undefined) {
        print('tag-removed', { key }, `tag  ${key} removed`);
        continue;
      }
      const report = reportLine(key, value, prefix);
      print('tag', { key, value, ...report?.fields }, report?.text ?? `tag  ${key} = ${value}`);
    }
    shown = { ...now };
  });
  const offSupervisor = supervisor.onRequest((r) => {
    if (r.method === 'GET' || r.path === '/v2/device/tags' || r.path === '/v2/journal-logs') return;
    print('supervisor', { method: r.method, path: r.path, body: r.body }, `supervisor  ${r.method} ${r.path} ${JSON.stringify(r.body ?? {})}`);
  });

  // The agent runs as `fleet-agent run` does; a simulated reboot restarts it with the new boot id.
  const bootIdPath = settings.AGENT_BOOT_ID_PATH ?? join(dataDir, 'boot_id');
  const agentRun = runDeviceAgent(ctx, agentEnv, bootIdPath, print);
  // The rest of the fleet (--devices), each device with its own supervisor and agent.
  const fleetRun = runExtraDevices({ ctx, devices: extras, cloudUrl: info.cloudUrl, appId: info.appId, dataDir, prefix, settings: extraSettings(settings), print });
  // The host keeps logging: a line every 15 s, which the agent forwards (a `logs` line above).
  const hostLog = (n: number): void => {
    if (ctx.signal.aborted) return;
    supervisor.pushJournal({ message: `demo host heartbeat ${n}`, unit: 'demo-host.service' });
    setTimeout(() => hostLog(n + 1), 15_000).unref();
  };
  setTimeout(() => hostLog(1), 15_000).unref();

  // The console: switches typed into stdin (or piped by a script) inject faults.
  const known = (service: string): boolean => {
    if (supervisor.services.some((s) => s.name === service)) return true;
    const message = `no service "${service}" on the device; it runs ${supervisor.services.map((s) => s.name).join(', ')}`;
    print('switch-error', { message }, message);
    return false;
  };
  const switches = ctx.input === undefined ? undefined : createInterface({ input: ctx.input(), terminal: false });
  switches?.on('line', (line) => {
    if (line.trim() === '') return;
    const sw = parseSwitch(line);
    if ('error' in sw) {
      print('switch-error', { message: sw.error }, sw.error);
      return;
    }
    switch (sw.kind) {
      case 'help':
        if (!json) ctx.out(CONSOLE_HELP);
        return;
      case 'lock':
        supervisor.setLock(sw.held ? 'Updates are locked (held from the demo console)' : null);
        print('switch', { ...sw }, sw.held ? 'switch      update lock held: commands without force wait, then end blocked' : 'switch      update lock released');
        return;
      case 'rate-limit':
        cloud.rateLimit({ count: sw.count, retryAfterSeconds: sw.retryAfterSeconds });
        print('switch', { ...sw }, `switch      the next ${sw.count} API requests get 429 with Retry-After: ${sw.retryAfterSeconds}`);
        return;
      case 'limit':
        cloud.setRequestLimit(sw.points === null ? null : { points: sw.points, windowMs: sw.windowSeconds * 1000 });
        print('switch', { ...sw }, sw.points === null
          ? 'switch      no API request limit'
          : `switch      the API allows ${sw.points} requests per ${sw.windowSeconds} s, then 429 until the window ends`);
        return;
      case 'down':
        if (sw.peer === 'cloud') cloud.setDown(sw.down);
        else supervisor.setDown(sw.down);
        print('switch', { ...sw }, `switch      ${sw.peer} ${sw.down ? 'down' : 'up again'}`);
        return;
      case 'crash':
        if (!known(sw.service)) return;
        supervisor.exitService(sw.service, { restartsTo: sw.loop ? 'exited' : 'Running' });
        print('switch', { ...sw }, sw.loop
          ? `switch      ${sw.service} exited, and exits again after every restart`
          : `switch      ${sw.service} exited; a restart brings it back`);
        return;
      case 'hang':
        if (!known(sw.service)) return;
        supervisor.hangService(sw.service, { silent: sw.silent });
        print('switch', { ...sw }, `switch      ${sw.service} hangs: ${supervisor.checkUrl(sw.service)} ${sw.silent ? 'never answers' : 'answers 500'}`);
        return;
      case 'heal':
        if (!known(sw.service)) return;
        supervisor.healService(sw.service);
        print('switch', { ...sw }, `switch      ${sw.service} runs and answers its check again`);
        return;
      case 'updating':
        supervisor.setUpdating(sw.on);
        print('switch', { ...sw }, sw.on ? 'switch      the supervisor reports an update being applied' : 'switch      the update is done');
        return;
    }
  });

  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  switches?.close();
  const codes = await Promise.all([agentRun, fleetRun]);
  const code = codes.find((c) => c !== EXIT.ok) ?? EXIT.ok;
  offCloud();
  offSupervisor();
  await supervisor.stop();
  await cloud.stop();
  await rm(dataDir, { recursive: true, force: true });
  return code;
};

