/** A scripted cloud on undici's MockAgent and a driver for ManualClock, for the cloud client unit tests. */
import { afterEach } from 'node:test';
import { MockAgent } from 'undici';
import { CloudClient, type CloudClientOptions } from '../../src/cloud/client.js';
import { settle, type ManualClock } from '../../src/lib/clock.js';

/** Where the scripted cloud answers. */
export const ORIGIN = 'http://cloud.test';
/** The device key the unit tests use; no output may contain it. */
export const KEY = 'dEvIcEkEy-0123456789abcdef';
/** The device the unit tests poll. */
export const UUID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

/** One request as the scripted cloud saw it, with the manual clock's time. */
export interface Seen {
  method: string;
  path: string;
  body: string;
  auth: string;
  at: number;
}

/** What the scripted cloud answers. */
export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The device row the scripted cloud usually answers. */
export const DEVICE_ROW = {
  id: 7,
  uuid: UUID,
  device_name: 'dev-7',
  supervisor_version: '17.8.1',
  os_version: 'balenaOS 6.1.0',
  is_online: true,
  belongs_to__application: [{ id: 1, app_name: 'fleet-one' }],
};

/** Every request is recorded (with ManualClock time) and answered by `handler`. */
export function mockCloud(clock: ManualClock, handler: (req: Seen) => Answer): { agent: MockAgent; seen: Seen[] } {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const seen: Seen[] = [];
  agent
    .get(ORIGIN)
    .intercept({ path: () => true, method: () => true })
    .reply((opts) => {
      const headers = opts.headers as Record<string, string> | undefined;
      const req: Seen = {
        method: opts.method,
        path: opts.path,
        body: typeof opts.body === 'string' ? opts.body : '',
        auth: headers?.authorization ?? '',
        at: clock.now(),
      };
      seen.push(req);
      const answer = handler(req);
      const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? '');
      return { statusCode: answer.status, data: body, responseOptions: { headers: answer.headers ?? {} } };
    })
    .persist();
  return { agent, seen };
}

/** A client of the scripted cloud; `random` is 0.5 unless given. */
export function mockClient(clock: ManualClock, agent: MockAgent, extra: Partial<CloudClientOptions> = {}): CloudClient {
  return new CloudClient({ baseUrl: ORIGIN, apiKey: KEY, deviceUuid: UUID, dispatcher: agent, clock, random: () => 0.5, ...extra });
}

/**
 * Runs `promise` to completion: moves the manual clock to each pending sleep and lets real I/O
 * (servers, sockets) run in between; rejects when it has not settled within `deadlineMs` of real time.
 */
export async function drive<T>(clock: ManualClock, promise: Promise<T>, deadlineMs = 10_000): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  const deadline = Date.now() + deadlineMs;
  while (!done) {
    if (Date.now() >= deadline) {
      throw new Error(`drive: still pending after ${deadlineMs} ms of real time (manual clock at ${clock.now()} ms)`);
    }
    await settle(3);
    const next = clock.nextAt();
    if (!done && next !== undefined) await clock.advance(Math.max(0, next - clock.now()));
  }
  return promise;
}

/**
 * For a test file: `cloud` makes a mocked cloud and a client on it; `track` adopts a MockAgent a
 * test built itself. Every agent is closed after each test; `clock` is read at each call.
 */
export function mockCloudFixture(clock: () => ManualClock) {
  const agents: MockAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.close();
  });
  return {
    cloud: (handler: (req: Seen) => Answer, extra: Partial<CloudClientOptions> = {}) => {
      const m = mockCloud(clock(), handler);
      agents.push(m.agent);
      return { ...m, client: mockClient(clock(), m.agent, extra) };
    },
    track: (agent: MockAgent): void => {
      agents.push(agent);
    },
  };
}
