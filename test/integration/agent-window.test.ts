/**
 * Maintenance windows and fleet commands on one agent against both simulators, on the world's
 * ManualClock (which starts on Thursday 2026-01-01 00:00 UTC): held work is `scheduled` in the ack,
 * in /status and in /metrics, survives a restart of the agent without running early or twice,
 * starts when the window opens (also after the wall clock was stepped forward, never after a step
 * back), and the word `now` goes through at once. Fleet tags reach the device with origin `fleet`.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { buildRegistry } from '../../src/metrics/registry.js';
import { parseMaintenanceWindow } from '../../src/config/parsers.js';
import { AT_RECHECK_MS } from '../../src/agent/scheduler.js';
import { startWorld, W, type World } from '../helpers/agent-harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (t: number) => new Date(t).toISOString();
/** 02:00–04:00 UTC every day: at the world's start (00:00) the window opens in two hours. */
const WINDOW = parseMaintenanceWindow('daily 02:00-04:00');
const OPENS = Date.UTC(2026, 0, 1, 2);

/** Sets a device tag, polls, and lets the acks reach the cloud (tags are written at most every 10 s). */
async function tag(w: World, key: string, value: string): Promise<void> {
  await w.tag(key, value);
  await w.step(10_000);
}

/** Sets (or, with undefined, removes) a fleet tag, polls, and lets the acks reach the cloud. */
async function fleetTag(w: World, key: string, value: string | undefined): Promise<void> {
  if (value === undefined) w.cloudSim.removeFleetTag(W.appId, key);
  else w.cloudSim.setFleetTag(W.appId, key, value);
  w.agent.pollNow();
  await w.agent.idle();
  await w.step(10_000);
}

async function scrape(w: World): Promise<string> {
  return (await buildRegistry(w.agent.registrySources())).metrics();
}

describe('agent: maintenance windows', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('holds a reboot until the window opens, across a restart, and runs it once', async () => {
    w = await startWorld({ config: { maintenanceWindow: WINDOW } });
    await tag(w, 'agent.reboot', 'W1');
    assert.equal(w.tags()['agent.reboot.ack'], `W1 scheduled ${iso(OPENS)} window`);
    assert.equal(w.calls('/v1/reboot'), 0);
    const status = w.agent.status();
    assert.deepEqual(status.scheduled.map((s) => [s.origin, s.command, s.token, s.startsAt, s.reason]), [['operator', 'reboot', 'W1', iso(OPENS), 'window']]);
    assert.deepEqual(status.window, { open: false, opensAt: iso(OPENS), closesAt: iso(Date.UTC(2026, 0, 1, 4)) });
    assert.match(await scrape(w), /^fleet_agent_scheduled_actions\{command="reboot",reason="window"\} 1$/m);
    assert.equal(w.agent.health().state, 'ok', 'a window is not a problem');

    await w.restart(undefined, { downMs: 30 * MIN });
    await w.step(60 * MIN);
    assert.equal(w.calls('/v1/reboot'), 0, 'not before the window, after a restart');
    assert.equal(w.tags()['agent.reboot.ack'], `W1 scheduled ${iso(OPENS)} window`);
    await w.step(30 * MIN + 1_000);
    assert.equal(w.calls('/v1/reboot'), 1, 'once the window opened');
    assert.equal(w.agent.status().scheduled.length, 0);
    await w.step(HOUR);
    assert.equal(w.calls('/v1/reboot'), 1, 'never twice');
  });

  it('`now` ignores the window; identify is never held', async () => {
    w = await startWorld({ config: { maintenanceWindow: WINDOW } });
    await tag(w, 'agent.restart', 'N1 now');
    await tag(w, 'agent.identify', 'I1');
    assert.equal(w.calls('/v1/restart'), 1);
    assert.equal(w.calls('/v1/blink'), 1);
    assert.equal(w.ack('restart')?.state, 'done');
  });

  it('a wall clock stepped forward into the window starts the work within a recheck; one stepped back does not start it early', async () => {
    w = await startWorld({ config: { maintenanceWindow: WINDOW } });
    await tag(w, 'agent.update', 'U1');
    assert.equal(w.ack('update')?.state, 'scheduled');
    w.clock.stepWall(-6 * HOUR);
    await w.step(AT_RECHECK_MS + 1_000);
    assert.equal(w.calls('/v1/update'), 0, 'stepped back: still waits for 02:00');
    w.clock.stepWall(6 * HOUR + 2 * HOUR + 10 * MIN);
    await w.step(AT_RECHECK_MS + 1_000);
    assert.equal(w.calls('/v1/update'), 1, 'stepped forward past 02:00: started, without waiting the old sleep out');
  });

  it('a live tag that turns the window off releases what waits at the next poll', async () => {
    w = await startWorld({ config: { maintenanceWindow: WINDOW } });
    await tag(w, 'agent.restart', 'R1');
    assert.equal(w.ack('restart')?.state, 'scheduled');
    await tag(w, 'agent.config.maintenance-window', 'off');
    assert.equal(w.calls('/v1/restart'), 1);
  });
});

describe('agent: fleet commands', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('a fleet tag runs once with origin fleet, acked in the device\'s own tag; a device that opted out ignores the next', async () => {
    w = await startWorld();
    await fleetTag(w, 'agent.identify', 'F1');
    assert.equal(w.calls('/v1/blink'), 1);
    assert.equal(w.ack('identify')?.token, 'F1');
    assert.equal(w.ack('identify')?.state, 'done');
    assert.deepEqual(w.agent.status().recentActions.map((a) => [a.origin, a.command, a.token, a.state]), [['fleet', 'identify', 'F1', 'done']]);
    assert.match(await scrape(w), /^fleet_agent_actions_total\{command="identify",origin="fleet",state="done"\} 1$/m);
    // The same token on the device's own tag: one namespace, it does not run again.
    await tag(w, 'agent.identify', 'F1');
    assert.equal(w.calls('/v1/blink'), 1);

    await tag(w, 'agent.config.fleet-commands', 'off');
    await fleetTag(w, 'agent.identify', 'F2');
    assert.equal(w.calls('/v1/blink'), 1);
  });

  it('a rollout from a future time waits, and an abort cancels it', async () => {
    w = await startWorld();
    await fleetTag(w, 'agent.reboot', 'R1 from=2026-01-01T06:00Z');
    assert.equal(w.tags()['agent.reboot.ack'], `R1 scheduled ${iso(Date.UTC(2026, 0, 1, 6))} wave 1/1`);
    assert.match(await scrape(w), /^fleet_agent_scheduled_actions\{command="reboot",reason="wave"\} 1$/m);
    await fleetTag(w, 'agent.reboot', 'R1 abort');
    assert.match(w.tags()['agent.reboot.ack'] ?? '', /^R1 cancelled \S+ the fleet rollout was aborted \(R1 abort\)$/);
    await w.step(7 * HOUR);
    assert.equal(w.calls('/v1/reboot'), 0);
  });

  it('a fleet tag removed before its start cancels it', async () => {
    w = await startWorld();
    await fleetTag(w, 'agent.restart', 'R2 from=2026-01-01T06:00Z');
    assert.equal(w.ack('restart')?.state, 'scheduled');
    await fleetTag(w, 'agent.restart', undefined);
    assert.match(w.tags()['agent.restart.ack'] ?? '', /^R2 cancelled \S+ the fleet tag was removed before it started here$/);
    await w.step(7 * HOUR);
    assert.equal(w.calls('/v1/restart'), 0);
  });
});
