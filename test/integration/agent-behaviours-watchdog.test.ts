/**
 * The watchdog behaviour on the simulators: the agent in-process on a ManualClock, the supervisor
 * simulator breaking a service (exit, crash loop, hang), real HTTP on loopback. Each test asserts
 * what the simulator recorded (effects, requests, checks), the `agent.watchdog.last` tag in the
 * cloud, and what /status shows.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startWorld, type World, type WorldOptions } from '../helpers/agent-harness.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** The world's clock starts here (ManualClock's default). */
const T0 = Date.UTC(2026, 0, 1);
/** Long enough for a changed tag to be written (the reporter writes at most once per 10 s). */
const FLUSH = 15 * SECOND;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A world whose agent watches every service but its own (`main` here), looking every 30 s. */
async function watching(opts: WorldOptions = {}): Promise<World> {
  world = await startWorld({ clockedSupervisor: true, ...opts, config: { watchdog: 'all', ...opts.config } });
  return world;
}

/** What the simulated supervisor did, in order: `<kind>[ <service>]`. */
function effects(w: World): string[] {
  return w.sup.effects.map((e) => (e.service === undefined ? e.kind : `${e.kind} ${e.service}`));
}

/** Wall time of the simulator's nth effect of a kind. */
function effectAt(w: World, kind: string, nth = 0): number {
  const found = w.sup.effects.filter((e) => e.kind === kind)[nth];
  assert.ok(found, `no ${kind} effect #${nth + 1}; effects: ${effects(w).join(', ')}`);
  return found.at;
}

function mainStatus(w: World): string | undefined {
  return w.sup.services.find((s) => s.name === 'main')?.status;
}

/** The watchdog's entry in /status. */
function watchdogStatus(w: World) {
  const found = w.agent.status().behaviours.find((b) => b.name === 'watchdog');
  assert.ok(found, 'the watchdog is listed in /status');
  return found;
}

describe('watchdog on the simulators: a service that is not running', () => {
  it('a crashed service is restarted by restart-service after two looks in a row, once', async () => {
    const w = await watching();
    w.sup.exitService('main');
    await w.step(30 * SECOND);
    assert.deepEqual(effects(w), [], 'one look that finds it exited does nothing (the engine may be restarting it)');
    await w.step(30 * SECOND);
    assert.deepEqual(effects(w), ['restart-service main']);
    assert.equal(effectAt(w, 'restart-service'), T0 + MINUTE, 'at the second look');
    assert.equal(mainStatus(w), 'Running');
    await w.step(FLUSH);
    assert.match(w.last('watchdog') ?? '', /^restart-service main done 2026-01-01T00:01:00\.000Z$/);
    const status = watchdogStatus(w);
    assert.equal(status.active, true);
    assert.deepEqual(status.last && { command: status.last.command, services: status.last.services, state: status.last.state }, {
      command: 'restart-service', services: ['main'], state: 'done',
    });
    await w.step(2 * HOUR);
    assert.deepEqual(effects(w), ['restart-service main'], 'healthy again: nothing more');
    assert.equal(w.tags()['agent.health'], 'ok');
  });

  it('a crash loop climbs the ladder: restart-service, restart 5 min later, reboot 15 min after that; then it only reports', async () => {
    const w = await watching({ config: { maxRebootsPerDay: 3 } });
    w.sup.exitService('main', { restartsTo: 'exited' });
    await w.step(MINUTE);
    assert.deepEqual(effects(w), ['restart-service main']);
    assert.equal(mainStatus(w), 'exited', 'it crashes again at once');
    await w.step(FLUSH);
    assert.match(w.last('watchdog') ?? '', /^restart-service main done /);

    await w.step(5 * MINUTE - FLUSH - 30 * SECOND);
    assert.deepEqual(effects(w), ['restart-service main'], 'the cool-off holds the next step');
    await w.step(30 * SECOND);
    assert.deepEqual(effects(w), ['restart-service main', 'restart']);
    assert.equal(effectAt(w, 'restart') - effectAt(w, 'restart-service'), 5 * MINUTE);
    await w.step(FLUSH);
    assert.match(w.last('watchdog') ?? '', /^restart done 2026-01-01T00:06:00\.000Z$/);

    await w.step(15 * MINUTE - FLUSH - 30 * SECOND);
    assert.deepEqual(effects(w), ['restart-service main', 'restart']);
    await w.step(30 * SECOND);
    assert.deepEqual(effects(w), ['restart-service main', 'restart', 'reboot']);
    assert.equal(effectAt(w, 'reboot') - effectAt(w, 'restart'), 15 * MINUTE);
    assert.equal(w.sup.reboots, 1);
    await w.step(FLUSH);
    assert.match(w.last('watchdog') ?? '', /^reboot running 2026-01-01T00:21:\d\d\.000Z reboot requested; waiting for a new boot$/);

    // The device comes back with a new boot id, and the agent with it; main still crashes.
    await w.restart();
    await w.step(FLUSH);
    assert.match(w.last('watchdog') ?? '', /^reboot done \S+ new boot seen \(reboot\)$/);
    assert.equal(mainStatus(w), 'exited');

    // After the last step's cool-off (45 min) the ladder is over: a health reason, no effect.
    await w.step(50 * MINUTE);
    assert.equal(w.tags()['agent.health'], 'degraded');
    assert.match(w.tags()['agent.health.detail'] ?? '', /watchdog: main still unhealthy after the whole ladder; waiting for an operator \(not running \(exited\) on \d+ looks in a row\)/);
    assert.ok(w.agent.status().reasons.some((r) => r.includes('after the whole ladder')));
    await w.step(4 * HOUR);
    assert.deepEqual(effects(w), ['restart-service main', 'restart', 'reboot'], 'nothing more for hours');
    assert.match(w.last('watchdog') ?? '', /^reboot done /);
  });

  it('an agent restarted during a cool-off neither repeats the step taken nor skips the wait: the ladder position is in the journal', async () => {
    const w = await watching();
    w.sup.exitService('main', { restartsTo: 'exited' });
    await w.step(MINUTE);
    assert.deepEqual(effects(w), ['restart-service main']);
    await w.step(2 * MINUTE);
    await w.restart();
    // The new process needs two looks of its own to find main unhealthy, then waits out the cool-off.
    await w.step(2 * MINUTE + 30 * SECOND);
    assert.deepEqual(effects(w), ['restart-service main'], 'no second restart-service, no early restart');
    await w.step(30 * SECOND);
    assert.deepEqual(effects(w), ['restart-service main', 'restart']);
    assert.equal(effectAt(w, 'restart') - effectAt(w, 'restart-service'), 5 * MINUTE, 'the cool-off counted across the restart');
  });
});

describe('watchdog on the simulators: health checks and what it leaves alone', () => {
  it('a hung service is found through its check URL after three failed checks, and restarted', async () => {
    const w = await watching({ checks: ['main'] });
    assert.equal(w.agent.effectiveConfig().checks.main, w.sup.checkUrl('main'));
    w.sup.hangService('main');
    await w.step(MINUTE);
    assert.deepEqual(effects(w), [], 'two failed checks are not enough');
    await w.step(30 * SECOND);
    assert.deepEqual(effects(w), ['restart-service main']);
    assert.equal(effectAt(w, 'restart-service'), T0 + 90 * SECOND);
    await w.step(30 * SECOND);
    const outcomes = w.sup.checks.filter((c) => c.service === 'main').map((c) => c.outcome);
    assert.deepEqual(outcomes, ['ok', 'failed', 'failed', 'failed', 'ok'], 'the restart cleared the hang');
    await w.step(FLUSH);
    assert.match(w.last('watchdog') ?? '', /^restart-service main done 2026-01-01T00:01:30\.000Z$/);
  });

  it('an operator\'s stop-service is left alone; after the operator starts it again, the watchdog watches it again', async () => {
    const w = await watching();
    await w.tag('agent.stop-service', 's1 main');
    await w.step(FLUSH);
    assert.equal(w.ack('stop-service')?.state, 'done');
    assert.equal(mainStatus(w), 'exited');
    await w.step(3 * HOUR);
    assert.deepEqual(effects(w), ['stop-service main'], 'stopped on purpose: not restarted');
    assert.equal(w.last('watchdog'), undefined);
    assert.equal(watchdogStatus(w).last, null);

    await w.tag('agent.start-service', 's2 main');
    assert.equal(mainStatus(w), 'Running');
    w.sup.exitService('main');
    await w.step(MINUTE);
    assert.deepEqual(effects(w), ['stop-service main', 'start-service main', 'restart-service main']);
  });

  it('while the supervisor applies an update, a service that is not running is left alone', async () => {
    const w = await watching();
    w.sup.setUpdating(true);
    w.sup.exitService('main');
    await w.step(10 * MINUTE);
    assert.deepEqual(effects(w), []);
    assert.equal(w.last('watchdog'), undefined);
    w.sup.setUpdating(false);
    await w.step(MINUTE);
    assert.deepEqual(effects(w), ['restart-service main'], 'once the update is done, two looks and a restart');
  });

  it('an update lock holds the watchdog\'s restart like a command: retried, then blocked after the lock wait; the ladder goes on', async () => {
    const w = await watching({ config: { lockWaitMs: 2 * MINUTE } });
    const lock = 'Lockfile exists for { appId: 1, service: main }';
    w.sup.setLock(lock);
    w.sup.exitService('main');
    await w.step(MINUTE);
    await w.step(FLUSH);
    assert.match(w.last('watchdog') ?? '', /^restart-service main running \S+ Lockfile exists for \{ appId: 1, service: main \}; retrying until the lock wait ends$/);
    await w.step(2 * MINUTE);
    assert.match(w.last('watchdog') ?? '', /^restart-service main blocked \S+ Lockfile exists .*; gave up after waiting 120 s \(set force to override\)$/);
    const tries = w.sup.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/restart-service'));
    assert.ok(tries.length >= 3, `retried (${tries.length} tries)`);
    assert.ok(tries.every((r) => r.status === 423), 'every try refused by the lock');
    assert.ok(tries.every((r) => (r.body as { force?: unknown } | undefined)?.force !== true), 'never forced');
    assert.deepEqual(effects(w), []);

    // Blocked is an outcome like any other: after its cool-off, the next step (the lock let go).
    w.sup.setLock(null);
    await w.step(5 * MINUTE);
    assert.deepEqual(effects(w), ['restart']);
    assert.equal(mainStatus(w), 'Running');
  });
});
