/** Test helpers for the cloud simulator: a seed with two fleets and raw HTTP calls. */
import { request } from 'node:http';
import { CloudSimulator, demoSeed, type CloudSeed, type CloudSimulatorOptions } from '../../src/sim/cloud/simulator.js';

/** Credentials and ids of {@link testSeed}. */
export const T = {
  uuid: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  otherUuid: 'ffeeddccbbaa99887766554433221100',
  deviceKey: 'test-device-key-aaaaaaaaaaaaaaaa',
  otherDeviceKey: 'test-other-device-key-bbbbbbbbbb',
  operatorKey: 'test-operator-key-cccccccccccccc',
  email: 'operator@example.com',
  password: 'demo-password',
  fleetId: 1,
  otherFleetId: 2,
  deviceId: 1,
  otherDeviceId: 2,
} as const;

/** The demo seed plus a second fleet with its own device, tags and variables. */
export function testSeed(): CloudSeed {
  const seed = demoSeed({ deviceUuid: T.uuid, deviceKey: T.deviceKey, operatorKey: T.operatorKey });
  return {
    ...seed,
    applications: [...(seed.applications ?? []), { id: T.otherFleetId, app_name: 'other-fleet', slug: 'operator/other-fleet' }],
    devices: [
      ...(seed.devices ?? []),
      { id: T.otherDeviceId, uuid: T.otherUuid, device_name: 'other-device', application: T.otherFleetId, apiKey: T.otherDeviceKey },
    ],
    deviceTags: [
      { device: T.deviceId, tag_key: 'agent.mode', value: 'normal' },
      { device: T.deviceId, tag_key: 'location', value: 'lab' },
      { device: T.otherDeviceId, tag_key: 'agent.mode', value: 'secret' },
    ],
    applicationTags: [...(seed.applicationTags ?? []), { application: T.otherFleetId, tag_key: 'agent.poll', value: '1m' }],
    deviceEnv: [{ device: T.deviceId, name: 'DEVICE_VAR', value: 'd1' }, { device: T.otherDeviceId, name: 'DEVICE_VAR', value: 'other' }],
    deviceConfig: [{ device: T.deviceId, name: 'BALENA_SUPERVISOR_POLL_INTERVAL', value: '900000' }],
    applicationConfig: [{ application: T.fleetId, name: 'BALENA_HOST_CONFIG_gpu_mem', value: '16' }],
    serviceEnv: [{ service: 1, name: 'SERVICE_VAR', value: 's1' }],
    deviceServiceEnv: [{ device: T.deviceId, service: 1, name: 'DEVICE_SERVICE_VAR', value: 'ds1' }],
  };
}

/** Starts a simulator (the test seed unless given); the caller stops it. */
export async function startCloud(opts: CloudSimulatorOptions = {}): Promise<CloudSimulator> {
  const sim = new CloudSimulator({ seed: testSeed(), ...opts });
  await sim.start();
  return sim;
}

/** A raw reply. */
export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions index into arbitrary JSON
  json(): any;
}

/** Options of {@link call}. */
export interface CallOptions {
  key?: string;
  method?: string;
  body?: unknown;
  rawBody?: Buffer | string;
  headers?: Record<string, string>;
}

/** Sends `path` as written (no URL normalisation; only spaces become %20) to the simulator. */
export function call(sim: CloudSimulator, path: string, opts: CallOptions = {}): Promise<RawReply> {
  const url = new URL(sim.url);
  const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string> = { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers };
  if (opts.key !== undefined) headers['authorization'] = `Bearer ${opts.key}`;
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: path.replace(/ /gu, '%20'), method: opts.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as unknown });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
