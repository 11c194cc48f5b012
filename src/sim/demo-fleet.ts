/**
 * The demo's fleet (`fleet-agent demo --devices N`): besides the demo device, N − 1 more simulated
 * devices in the same fleet, each with its own supervisor simulator, boot id, data folder and
 * agent, all in this process against the one cloud simulator. They exist to show fleet commands:
 * a fleet tag reaches every device, and each finds its own rollout wave.
 */
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { CliContext } from '../cli/types.js';
import { EXIT } from '../cli/exit.js';
import { runners as runCommand } from '../cli/run.js';
import { describe } from '../lib/errors.js';
import type { SeedDevice } from './cloud/seed.js';
import { SupervisorSimulator } from './supervisor/simulator.js';

/** The most devices the demo runs (each is an agent, a supervisor simulator and two servers). */
export const MAX_DEMO_DEVICES = 200;

/** Prints one event: a JSON object with `--json`, a line of text otherwise. */
export type Print = (event: string, detail: Record<string, unknown>, text: string) => void;

/**
 * Runs one device's agent as `fleet-agent run` does; a simulated reboot (the boot id file changes)
 * stops it and starts it again, as a real reboot would. Resolves with the agent's exit code once
 * `ctx.signal` aborts. `name`: an extra device's name (its lines and events carry it); none for
 * the demo device.
 */
export async function runDeviceAgent(ctx: CliContext, env: Record<string, string>, bootIdPath: string, print: Print, name?: string): Promise<number> {
  const label = name === undefined ? '' : `${name}  `;
  const device = name === undefined ? {} : { device: name };
  let stop = new AbortController();
  let run: Promise<number> = Promise.resolve(EXIT.ok);
  const start = (): void => {
    stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    run = runCommand.run({ ...ctx, argv: [], env, signal }).catch((err: unknown) => {
      print('agent-error', { ...device, message: describe(err) }, `${label}agent stopped: ${describe(err)}`);
      return EXIT.failure;
    });
  };
  const readBoot = async (): Promise<string> => (await readFile(bootIdPath, 'utf8').catch(() => '')).trim();
  let bootId = await readBoot();
  let rebooting = Promise.resolve();
  const watcher: FSWatcher | undefined = bootId
    ? watch(bootIdPath, () => {
        rebooting = rebooting.then(async () => {
          const next = await readBoot();
          if (!next || next === bootId || ctx.signal.aborted) return;
          print('reboot', { ...device, from: bootId, to: next }, `${label}device  rebooting (boot id ${bootId.slice(0, 8)} → ${next.slice(0, 8)}); the agent restarts`);
          bootId = next;
          stop.abort();
          await run;
          if (!ctx.signal.aborted) start();
        });
      })
    : undefined;
  start();
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  watcher?.close();
  await rebooting;
  return run;
}

/** What a real supervisor does with the tags queued with it: sends them to the cloud with the device key. */
export async function sendTags(ctx: CliContext, cloudUrl: string, uuid: string, deviceKey: string, tags: Readonly<Record<string, string>>): Promise<void> {
  const res = await (await ctx.dispatcher()).request({
    origin: cloudUrl,
    path: '/device/v3/tags',
    method: 'PATCH',
    headers: { authorization: `Bearer ${deviceKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ [uuid]: tags }),
  });
  await res.body.dump();
}

/** A free TCP port on 127.0.0.1 (for an extra device's local HTTP server). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** The seed rows of the extra devices (ids 2…n, in the demo's fleet). */
export function extraDevices(count: number, appId: number): SeedDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 2,
    uuid: randomBytes(16).toString('hex'),
    device_name: `demo-device-${String(i + 2).padStart(2, '0')}`,
    application: appId,
    apiKey: randomBytes(16).toString('hex'),
    supervisor_version: '17.8.0',
    os_version: 'balenaOS 6.5.0',
    is_online: true,
    device_type: 'raspberrypi4-64',
  }));
}

/** What starting the extra devices needs. */
export interface FleetOptions {
  ctx: CliContext;
  devices: readonly SeedDevice[];
  cloudUrl: string;
  appId: number;
  dataDir: string;
  /** The tag prefix (acks are shown). */
  prefix: string;
  /** Settings every extra agent gets (the demo's, minus what is the demo device's own). */
  settings: Record<string, string>;
  print: Print;
}

/**
 * Starts every extra device and its agent; prints each supervisor call (but reads and tag writes)
 * and each ack the agent writes, on lines starting with the device's name. Resolves once every
 * agent stopped after `ctx.signal` aborted.
 */
export async function runExtraDevices(o: FleetOptions): Promise<number> {
  const runs: Promise<number>[] = [];
  const sims: SupervisorSimulator[] = [];
  for (const device of o.devices) {
    const label = `${device.device_name}  `;
    const apiKey = randomBytes(16).toString('hex');
    const bootIdPath = join(o.dataDir, device.device_name, 'boot_id');
    await mkdir(join(o.dataDir, device.device_name), { recursive: true });
    const sim = new SupervisorSimulator({
      apiKey,
      appId: o.appId,
      appName: 'demo-fleet',
      version: '19.0.5',
      deviceName: device.device_name,
      bootIdPath,
      onTagsPatch: async (tags) => {
        for (const [key, value] of Object.entries(tags)) {
          if (key.startsWith(o.prefix) && key.endsWith('.ack')) print(o, device, key, value);
        }
        await sendTags(o.ctx, o.cloudUrl, device.uuid, device.apiKey, tags);
      },
    });
    const url = await sim.start();
    sims.push(sim);
    sim.onRequest((r) => {
      if (r.method === 'GET' || r.path === '/v2/device/tags' || r.path === '/v2/journal-logs') return;
      o.print('supervisor', { device: device.device_name, method: r.method, path: r.path, body: r.body }, `${label}supervisor  ${r.method} ${r.path} ${JSON.stringify(r.body ?? {})}`);
    });
    const env = {
      ...o.settings,
      AGENT_DATA_DIR: join(o.dataDir, device.device_name, 'agent'),
      AGENT_BOOT_ID_PATH: bootIdPath,
      AGENT_HTTP_PORT: String(await freePort()),
      BALENA_SUPERVISOR_ADDRESS: url,
      BALENA_SUPERVISOR_API_KEY: apiKey,
      BALENA_APP_ID: String(o.appId),
      BALENA_DEVICE_UUID: device.uuid,
      BALENA_API_URL: o.cloudUrl,
      BALENA_API_KEY: device.apiKey,
      BALENA_DEVICE_TYPE: 'raspberrypi4-64',
      BALENA_DEVICE_ARCH: 'aarch64',
      BALENA_SERVICE_NAME: 'fleet-agent',
    };
    runs.push(runDeviceAgent(o.ctx, env, bootIdPath, o.print, device.device_name));
  }
  const codes = await Promise.all(runs);
  await Promise.all(sims.map((s) => s.stop()));
  return codes.find((c) => c !== EXIT.ok) ?? EXIT.ok;
}

function print(o: FleetOptions, device: SeedDevice, key: string, value: string): void {
  o.print('ack', { device: device.device_name, uuid: device.uuid, key, value }, `${device.device_name}  ack  ${key} = ${value}`);
}
