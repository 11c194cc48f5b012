/**
 * The behaviours that reboot the device, on the simulators: the reboot schedule, the offline
 * reboot and the reboot budget they share with the operator's commands. The agent runs in-process
 * on a ManualClock; a reboot of the simulated device is followed, as on a device, by a new agent
 * process that sees the new boot id (`restart`). Each test asserts what the supervisor simulator
 * recorded (its effects, stamped with the world's clock), the `.last` tags and /status.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { spreadOffset } from '../../src/agent/behaviours/reboot-schedule.js';
import { startWorld, W, type World, type WorldOptions } from '../helpers/agent-harness.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** The world's clock starts here (ManualClock's default): 2026-01-01T00:00Z. */
const T0 = Date.UTC(2026, 0, 1);
/** Long enough for a changed tag to be written (the reporter writes at most once per 10 s). */
const FLUSH = 15 * SECOND;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function start(opts: WorldOptions = {}): Promise<World> {
  world = await startWorld({ clockedSupervisor: true, ...opts });
  return world;
}

/** Moves the world's time on to a wall time. */
async function stepTo(w: World, wall: number): Promise<void> {
  assert.ok(wall >= w.clock.wall(), `${new Date(wall).toISOString()} is already past`);
  await w.step(wall - w.clock.wall());
}

/** Wall times of the simulator's reboots. */
function reboots(w: World): number[] {
  return w.sup.effects.filter((e) => e.kind === 'reboot').map((e) => e.at);
}

const iso = (t: number): string => new Date(t).toISOString();

function behaviourStatus(w: World, name: string) {
  const found = w.agent.status().behaviours.find((b) => b.name === name);
  assert.ok(found, `${name} is listed in /status`);
  return found;
}

describe('reboot schedule on the simulators', () => {
  it('reboots once at 03:00 plus the device\'s offset, and not again that night after the reboot', async () => {
    const spread = 30 * MINUTE;
    const offset = spreadOffset(W.uuid, spread);
    assert.ok(offset > 0 && offset < spread);
    const due = Date.UTC(2026, 0, 1, 3) + offset;
    const w = await start({ config: { rebootSchedule: '0 3 * * *', scheduleSpreadMs: spread } });
    assert.equal(behaviourStatus(w, 'reboot-schedule').next, iso(due));

    await stepTo(w, due - SECOND);
    assert.deepEqual(reboots(w), []);
    await w.step(SECOND);
    assert.deepEqual(reboots(w), [due], 'at the slot plus its offset, to the millisecond');
    await w.step(FLUSH);
    assert.equal(w.last('reboot-schedule'), `reboot running ${iso(due)} reboot requested; waiting for a new boot`);

    // The device is back with a new boot id, and the agent with it.
    await w.restart();
    await w.step(FLUSH);
    assert.match(w.last('reboot-schedule') ?? '', /^reboot done \S+ new boot seen \(reboot\)$/);
    const status = behaviourStatus(w, 'reboot-schedule');
    assert.equal(status.active, true);
    assert.equal(status.last?.state, 'done');
    assert.equal(status.next, iso(due + 24 * HOUR));

    await stepTo(w, Date.UTC(2026, 0, 1, 9));
    assert.deepEqual(reboots(w), [due], 'once for that slot');
  });

  it('an agent down across its slot: too late → rejected missed, no reboot; less than the spread late → runs once at start', async () => {
    const spread = 10 * MINUTE;
    const offset = spreadOffset(W.uuid, spread);
    const w = await start({ config: { rebootSchedule: '0 3 * * *', scheduleSpreadMs: spread } });
    const due = Date.UTC(2026, 0, 1, 3) + offset;

    await stepTo(w, Date.UTC(2026, 0, 1, 2, 50));
    await w.restart(undefined, { downMs: HOUR });
    await w.step(FLUSH);
    assert.deepEqual(reboots(w), []);
    const late = Math.floor((Date.UTC(2026, 0, 1, 3, 50) - due) / MINUTE);
    assert.match(w.last('reboot-schedule') ?? '', new RegExp(`^reboot rejected \\S+ missed: due ${iso(due).replace(/\./g, '\\.')}, ${late} min late \\(more than the spread\\); skipped$`));
    await w.step(HOUR);
    assert.deepEqual(reboots(w), [], 'a missed slot is never run later');

    // Down again from the morning until 2 min after the next night's slot: less than the spread late.
    const due2 = due + 24 * HOUR;
    await w.restart(undefined, { downMs: due2 + 2 * MINUTE - w.clock.wall() });
    assert.deepEqual(reboots(w), [due2 + 2 * MINUTE], 'run at start');
    await w.restart();
    await w.step(HOUR);
    assert.deepEqual(reboots(w), [due2 + 2 * MINUTE]);
  });
});

describe('offline reboot on the simulators', () => {
  it('one reboot after the limit offline, none more while it stays offline across that reboot; back online starts a new period', async () => {
    const limit = 30 * MINUTE;
    const w = await start({ config: { offlineRebootMs: limit } });
    // The first poll (at start) was the last contact.
    assert.ok(w.agent.status().lastPoll.ok);
    w.cloudSim.setDown(true);
    await w.step(limit - SECOND);
    assert.deepEqual(reboots(w), []);
    await w.step(SECOND);
    assert.deepEqual(reboots(w), [T0 + limit], 'at the limit, counted from the last contact');
    assert.equal(behaviourStatus(w, 'offline-reboot').last?.state, 'running');

    // The device comes back up still offline: the agent starts again with a new boot id.
    await w.restart();
    assert.equal(behaviourStatus(w, 'offline-reboot').last?.state, 'done');
    await w.step(4 * HOUR);
    assert.deepEqual(reboots(w), [T0 + limit], 'one reboot per offline period, however long it lasts');
    assert.equal(w.agent.status().lastPoll.at, null, 'no contact since');

    w.cloudSim.setDown(false);
    await w.step(10 * MINUTE);
    assert.ok(w.agent.status().lastPoll.ok, 'back online');
    assert.match(w.last('offline-reboot') ?? '', /^reboot done \S+ new boot seen \(reboot\)$/);
    const contact = Date.parse(w.agent.status().lastPoll.at ?? '');
    w.cloudSim.setDown(true);
    await w.step(limit + 5 * MINUTE);
    assert.equal(reboots(w).length, 2, 'a new offline period');
    assert.equal(reboots(w)[1], contact + limit);
  });
});

describe('the reboot budget shared by commands and behaviours', () => {
  it('max 1 a day: a scheduled reboot after an operator\'s reboot is deferred, survives an agent restart, and runs when the budget returns', async () => {
    const w = await start({ config: { maxRebootsPerDay: 1, rebootSchedule: '0 3 * * *', scheduleSpreadMs: 0 } });
    await stepTo(w, Date.UTC(2026, 0, 1, 1));
    await w.tag('agent.reboot', 'op1');
    assert.deepEqual(reboots(w), [Date.UTC(2026, 0, 1, 1)]);
    await w.restart();
    await w.step(FLUSH);
    assert.equal(w.ack('reboot')?.state, 'done');

    await stepTo(w, Date.UTC(2026, 0, 1, 3));
    await w.step(FLUSH);
    assert.equal(reboots(w).length, 1);
    const deferred = `reboot deferred ${iso(Date.UTC(2026, 0, 1, 3))} reboot budget spent (1 of 1 in 24 h); runs after ${iso(Date.UTC(2026, 0, 2, 1))}`;
    assert.equal(w.last('reboot-schedule'), deferred);
    assert.equal(w.agent.status().journal.rebootsAllowedAgainAt, iso(Date.UTC(2026, 0, 2, 1)));

    // The agent restarts (and is down for a while, the device powered off): the deferral is kept.
    await stepTo(w, Date.UTC(2026, 0, 1, 9));
    await w.restart(undefined, { downMs: 15 * HOUR });
    await w.step(FLUSH);
    assert.equal(w.last('reboot-schedule'), deferred, 'still deferred after the agent restarted');

    await stepTo(w, Date.UTC(2026, 0, 2, 1) - SECOND);
    assert.equal(reboots(w).length, 1);
    await w.step(SECOND);
    assert.deepEqual(reboots(w), [Date.UTC(2026, 0, 1, 1), Date.UTC(2026, 0, 2, 1)], 'as soon as the budget allows');
    await w.step(FLUSH);
    assert.match(w.last('reboot-schedule') ?? '', /^reboot running 2026-01-02T01:00:00\.000Z reboot requested/);
  });
});
