import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { systemClock } from '../../src/lib/clock.js';
import { SupervisorClient, type SupervisorClientOptions } from '../../src/supervisor/client.js';
import { SupervisorSimulator, type SupervisorSimulatorOptions } from '../../src/sim/supervisor/simulator.js';

/** A started simulator, a dispatcher, and a way to build clients against it; `close()` stops both. */
export interface SimHarness {
  sim: SupervisorSimulator;
  dispatcher: Agent;
  client(overrides?: Partial<SupervisorClientOptions>): SupervisorClient;
  close(): Promise<void>;
}

/** Starts a supervisor simulator on 127.0.0.1 port 0 with a fresh dispatcher. */
export async function startSim(opts: SupervisorSimulatorOptions = {}): Promise<SimHarness> {
  const sim = new SupervisorSimulator(opts);
  await sim.start();
  const dispatcher = new Agent({ connect: { timeout: 2_000 } });
  return {
    sim,
    dispatcher,
    client: (overrides = {}) =>
      new SupervisorClient({ baseUrl: sim.url, apiKey: sim.apiKey, appId: sim.appId, dispatcher, clock: systemClock, timeoutMs: 3_000, ...overrides }),
    async close() {
      await sim.stop();
      await dispatcher.close();
    },
  };
}

/** The balena variables a container would get for this simulator. */
export function simEnv(sim: SupervisorSimulator, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    BALENA_SUPERVISOR_ADDRESS: sim.url,
    BALENA_SUPERVISOR_API_KEY: sim.apiKey,
    BALENA_APP_ID: String(sim.appId),
    ...overrides,
  };
}

/** Asserts that a secret appears nowhere in an error: message, string form, own fields, cause. */
export function assertNoSecret(err: unknown, secret: string): void {
  const e = err as Error & { cause?: { message?: string } };
  const texts = [e.message, String(e), JSON.stringify(e), e.stack ?? '', e.cause?.message ?? ''];
  for (const text of texts) assert.ok(!text.includes(secret), `secret leaked into: ${text.slice(0, 200)}`);
}
