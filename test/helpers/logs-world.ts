/**
 * Log forwarding on a ManualClock against the REAL supervisor simulator (its journal follow) and
 * loopback receivers: a Forwarder with its own Scheduler, driven by `until` (advance the clock in
 * ticks, let loopback I/O run, until a condition holds).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as Dispatcher } from 'undici';
import { Scheduler } from '../../src/agent/scheduler.js';
import type { Config } from '../../src/config/schema.js';
import { ManualClock, settle } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { Forwarder, type ForwarderDeps } from '../../src/logs/forwarder.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { SupervisorSimulator } from '../../src/sim/supervisor/simulator.js';
import { testConfig } from './agent-fixtures.js';

const KEY = 'logsworldsupervisorkey000000000';

/** The world of a log test. */
export interface LogsWorld {
  clock: ManualClock;
  sup: SupervisorSimulator;
  dir: string;
  fwd: Forwarder;
  config: Config;
  /** Replaces the forwarder (as after a process restart) with the settings changed by `over`. */
  restart(over?: Partial<Config>): Promise<void>;
  /** Advances the clock by `stepMs` at a time until `cond` holds (throws after `maxSteps`). */
  until(cond: () => boolean, what: string, stepMs?: number, maxSteps?: number): Promise<void>;
  /** Pushes `n` journal lines `<prefix> <i>` spread over units u0…u2, returns their messages. */
  push(n: number, prefix: string): string[];
  close(): Promise<void>;
}

/** Starts a supervisor simulator and a forwarder to `logsForward`. */
export async function startLogsWorld(over: Partial<Config>, extra: Partial<ForwarderDeps> = {}): Promise<LogsWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'logs-world-'));
  const clock = new ManualClock();
  const sup = new SupervisorSimulator({ apiKey: KEY, appId: 1, clock, journal: [] });
  await sup.start();
  const dispatcher = new Dispatcher({ connect: { timeout: 2_000 } });
  const supervisor = new SupervisorClient({ baseUrl: sup.url, apiKey: KEY, appId: 1, dispatcher, clock, timeoutMs: 3_000 });
  const log = createLogger({ level: 'silent' });
  let scheduler = new Scheduler({ clock, log });
  let counter = 0;
  const bootAt = clock.wall();
  const make = (): Forwarder => new Forwarder({
    clock, log, scheduler, config: () => world.config, journal: supervisor, dispatcher,
    device: () => ({ uuid: 'uuid-1', fleet: 'fleet-1' }), bootTimeMs: () => bootAt,
    sinkBackoff: { baseMs: 1_000, maxMs: 60_000, random: () => 0.5 }, ...extra,
  });
  const world: LogsWorld = {
    clock, sup, dir, config: testConfig({ dataDir: join(dir, 'data'), ...over }), fwd: undefined as unknown as Forwarder,
    async restart(change) {
      await scheduler.stop();
      await world.fwd.close();
      if (change) world.config = { ...world.config, ...change };
      scheduler = new Scheduler({ clock, log });
      world.fwd = make();
      world.fwd.start();
    },
    async until(cond, what, stepMs = 250, maxSteps = 5_000) {
      for (let i = 0; i < maxSteps; i++) {
        if (cond()) return;
        await clock.advance(stepMs, 20);
        await settle(20);
        // File I/O completes on libuv's thread pool, which setImmediate rounds do not wait for: one
        // timer turn lets the loop poll for it (the condition, not this wait, decides when to stop).
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      throw new Error(`timed out waiting for ${what}`);
    },
    push(n, prefix) {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const message = `${prefix} ${counter++}`;
        sup.pushJournal({ message, unit: `u${counter % 3}.service` });
        out.push(message);
      }
      return out;
    },
    async close() {
      await scheduler.stop();
      await world.fwd.close();
      await sup.stop();
      await dispatcher.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  world.fwd = make();
  world.fwd.start();
  return world;
}
