/** The agent against both simulators: superseded tokens, lock waits across restarts, clock steps, full disks, faults. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { fillableStore } from '../helpers/agent-fixtures.js';
import { startWorld, W, type World } from '../helpers/agent-harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const recorded = (w: World, command: string, token: string) => w.agent.status().recentActions.find((a) => a.command === command && a.token === token);
const HOUR = 3_600_000;

describe('lock wait across agent restarts', () => {
  it('counts from when the command was accepted, not from the restart', async () => {
    const w = (world = await startWorld({ config: { lockWaitMs: 120_000 } }));
    w.sup.setLock('Lockfile exists for { appId: 1, service: main }');
    await w.tag('agent.restart', 'x1');
    await w.step(60_000);
    assert.equal(w.ack('restart')?.state, 'running');
    await w.restart();
    await w.step(70_000);
    assert.equal(w.ack('restart')?.state, 'blocked', '130 s after acceptance, with a 120 s lock wait');
    assert.match(w.ack('restart')?.detail ?? '', /gave up after waiting 1[23]\d s/);
    assert.ok(w.sup.requests.every((r) => (r.body as { force?: unknown } | undefined)?.force !== true), 'never forced');
  });

  it('within one process a wall-clock step (NTP) neither shortens nor lengthens it', async () => {
    const w = (world = await startWorld({ config: { lockWaitMs: 120_000 } }));
    w.sup.setLock('Lockfile exists');
    await w.tag('agent.restart', 'x1');
    w.clock.stepWall(2 * HOUR);
    await w.step(100_000);
    assert.equal(w.ack('restart')?.state, 'running');
    w.clock.stepWall(-3 * HOUR);
    await w.step(30_000);
    assert.equal(w.ack('restart')?.state, 'blocked');
  });
});

describe('a command waiting on a lock does not hold up the others', () => {
  it('identify and a forced reboot run at once while a restart waits out its lock', async () => {
    const w = (world = await startWorld({ config: { lockWaitMs: 30 * 60_000 } }));
    w.sup.setLock('Lockfile exists');
    await w.tag('agent.restart', 'x1');
    await w.step(10_000);
    assert.equal(w.ack('restart')?.state, 'running');
    await w.tag('agent.identify', 'i1');
    await w.tag('agent.reboot', 'r1 force');
    await w.step(10_000);
    assert.equal(w.calls('/v1/blink'), 1);
    assert.equal(w.sup.reboots, 1);
    assert.equal(w.ack('identify')?.state, 'done');
    assert.equal(w.ack('restart')?.state, 'running', 'the restart still waits for its lock');
  });
});

describe('a newer token supersedes an older one that never started', () => {
  it('a reboot waiting on a lock, replaced by a forced token: one reboot, the old one never fires', async () => {
    const w = (world = await startWorld({ config: { lockWaitMs: 30 * 60_000 } }));
    w.sup.setLock('Lockfile exists');
    await w.tag('agent.reboot', 'r1');
    await w.step(10_000);
    assert.match(w.ack('reboot')?.detail ?? '', /^Lockfile exists; retrying/);
    await w.tag('agent.reboot', 'r2 force');
    await w.step(10_000);
    assert.equal(w.sup.reboots, 1, 'the forced token ran at once');
    assert.equal(recorded(w, 'reboot', 'r1')?.state, 'rejected');
    assert.equal(recorded(w, 'reboot', 'r1')?.detail, 'superseded by r2 before it ran');
    await w.restart(); // the new boot
    w.sup.setLock(null);
    for (let i = 0; i < 4; i++) await w.step(10 * 60_000);
    assert.equal(w.ack('reboot')?.token, 'r2');
    assert.equal(w.ack('reboot')?.state, 'done');
    await w.step(HOUR);
    assert.equal(w.sup.reboots, 1, 'never two reboots for one operator intent');
  });

  it('replaced while its call is in flight: the old token never tries again, and is closed', async () => {
    const w = (world = await startWorld({ config: { lockWaitMs: 30 * 60_000 } }));
    w.sup.setLock('Lockfile exists');
    const restarts = () => w.sup.requests.filter((r) => r.method === 'POST' && (r.path === '/v1/restart' || r.path.endsWith('/restart')));
    let replaced = false;
    const off = w.sup.onRequest((r) => {
      if (replaced && r.path === '/v2/applications/state') {
        w.sup.setLatency(0);
        off();
      }
      if (replaced || r.method !== 'POST' || !r.path.endsWith('/restart')) return;
      // The operator replaces the token while the first call is still being answered: its (slow)
      // reply arrives after the poll has decided.
      replaced = true;
      w.sup.setLatency(500);
      w.cloudSim.setDeviceTag(W.uuid, 'agent.restart', 'x2 force');
      w.agent.pollNow();
    });
    await w.tag('agent.restart', 'x1');
    for (let i = 0; i < 3; i++) await w.step(5 * 60_000);
    const forced = (r: { body?: unknown }) => (r.body as { force?: unknown } | undefined)?.force === true;
    assert.equal(restarts().filter((r) => !forced(r)).length, 1, 'x1 was sent once and never retried');
    assert.equal(restarts().filter(forced).length, 1, 'x2 ran once');
    assert.equal(recorded(w, 'restart', 'x1')?.state, 'rejected');
    assert.equal(w.ack('restart')?.token, 'x2');
    assert.equal(w.ack('restart')?.state, 'done');
  });

  it('a deferred reboot whose tag was replaced is closed; only the new one runs when the budget returns', async () => {
    const w = (world = await startWorld({ config: { maxRebootsPerDay: 1 } }));
    await w.tag('agent.reboot', 'a');
    await w.restart();
    await w.tag('agent.reboot', 'b');
    await w.step(10_000);
    assert.equal(w.ack('reboot')?.state, 'deferred');
    await w.tag('agent.reboot', 'c');
    await w.step(10_000);
    assert.equal(w.ack('reboot')?.token, 'c');
    assert.equal(w.ack('reboot')?.state, 'deferred');
    assert.equal(recorded(w, 'reboot', 'b')?.state, 'rejected', 'not pending forever');
    // Until the budget returns and c reboots the device (a real reboot restarts the agent at once).
    for (let i = 0; i < 200 && w.sup.reboots < 2; i++) await w.step(10 * 60_000);
    assert.equal(w.sup.reboots, 2, 'a, then c; b never');
    await w.restart();
    await w.step(HOUR);
    assert.equal(w.ack('reboot')?.state, 'done');
    assert.equal(w.sup.reboots, 2);
  });

  it('a deferred reboot whose tag was removed is withdrawn and never runs', async () => {
    const w = (world = await startWorld({ config: { maxRebootsPerDay: 1 } }));
    await w.tag('agent.reboot', 'a');
    await w.restart();
    await w.tag('agent.reboot', 'b');
    w.cloudSim.removeDeviceTag(W.uuid, 'agent.reboot');
    w.agent.pollNow();
    await w.step(30_000);
    assert.match(w.tags()['agent.reboot.ack'] ?? '', /^b rejected \S+ withdrawn: the tag was removed before it ran$/);
    for (let i = 0; i < 5; i++) await w.step(5 * HOUR);
    assert.equal(w.sup.reboots, 1);
  });
});

describe('reboot budget', () => {
  it('a deferred reboot tells when it runs, and runs then', async () => {
    const w = (world = await startWorld({ config: { maxRebootsPerDay: 1 } }));
    await w.tag('agent.reboot', 'a');
    await w.restart();
    await w.tag('agent.reboot', 'b');
    await w.step(10_000);
    const detail = w.ack('reboot')?.detail ?? '';
    const when = Date.parse(/runs after (\S+)$/.exec(detail)?.[1] ?? '');
    assert.ok(Number.isFinite(when), detail);
    await w.step(when - w.clock.wall() - 1_000);
    assert.equal(w.sup.reboots, 1, 'not before the time it gave');
    await w.step(2_000);
    assert.equal(w.sup.reboots, 2, 'at that time, without waiting for a poll');
  });

  it('max-reboots-per-day 0 (a live tag) defers even a forced reboot, and it never fires', async () => {
    const w = (world = await startWorld());
    w.cloudSim.setDeviceTag(W.uuid, 'agent.config.max-reboots-per-day', '0');
    await w.tag('agent.reboot', 'loop force');
    await w.step(10_000);
    assert.equal(w.ack('reboot')?.state, 'deferred');
    assert.match(w.ack('reboot')?.detail ?? '', /reboots are disabled here/);
    for (let i = 0; i < 5; i++) await w.step(5 * HOUR);
    assert.equal(w.calls('/v1/reboot'), 0);
  });
});

describe('the wall clock steps backwards (NTP)', () => {
  it('the ack shows the newest token, not the one with the latest time', async () => {
    const w = (world = await startWorld());
    await w.tag('agent.identify', 'i1');
    await w.step(10_000);
    w.clock.stepWall(-2 * HOUR);
    await w.tag('agent.identify', 'i2');
    await w.step(10_000);
    assert.equal(w.ack('identify')?.token, 'i2');
    assert.equal(w.ack('identify')?.state, 'done');
    assert.equal(w.calls('/v1/blink'), 2);
  });
});

describe('the journal cannot be written (full disk)', () => {
  it('nothing is sent, health says why, and the command runs once the disk has room', async () => {
    let disk = { allowed: null as number | null, writes: 0 };
    const w = (world = await startWorld({
      journalFile: (dir) => {
        const made = fillableStore(dir);
        disk = made.disk;
        return made.store;
      },
    }));
    disk.allowed = 1; // the acceptance is written, then the disk is full when the intent is
    await w.tag('agent.reboot', 'r1');
    await w.step(10_000);
    assert.equal(w.calls('/v1/reboot'), 0);
    assert.deepEqual(w.agent.health(), { state: 'failing', reasons: ['journal not writable'] });
    assert.equal(w.tags()['agent.health'], 'failing');
    assert.match(w.tags()['agent.health.detail'] ?? '', /journal not writable/);
    assert.equal(w.ack('reboot')?.state, 'accepted', 'the ack shows only what the journal holds');
    await w.step(600_000);
    assert.equal(w.calls('/v1/reboot'), 0, 'still nothing while the disk is full');
    disk.allowed = null;
    await w.step(300_000);
    await w.step(10_000);
    assert.equal(w.calls('/v1/reboot'), 1);
    assert.equal(w.agent.health().state, 'ok');
    assert.equal(w.tags()['agent.health'], 'ok');
  });

  it('the disk fills after the call: the outcome is recorded once there is room, and nothing runs twice', async () => {
    let disk = { allowed: null as number | null, writes: 0 };
    const w = (world = await startWorld({
      journalFile: (dir) => {
        const made = fillableStore(dir);
        disk = made.disk;
        return made.store;
      },
    }));
    disk.allowed = 2; // acceptance and intent are written; the outcome is not
    await w.tag('agent.identify', 'i1');
    await w.step(10_000);
    assert.equal(w.calls('/v1/blink'), 1);
    assert.equal(w.agent.health().state, 'failing');
    assert.equal(w.ack('identify')?.state, 'running');
    disk.allowed = null;
    await w.step(120_000);
    assert.equal(w.ack('identify')?.state, 'done');
    assert.equal(w.agent.health().state, 'ok');
    await w.restart();
    await w.step(600_000);
    assert.equal(w.calls('/v1/blink'), 1, 'never sent again');
  });
});

describe('faults of the cloud and the supervisor', () => {
  it('the cloud answers 401 for a while, then recovers: failing, then ok, and the waiting command runs', async () => {
    const w = (world = await startWorld());
    w.cloudSim.failNext(3, 401);
    await w.step(315_000);
    assert.equal(w.agent.health().state, 'failing');
    assert.equal(w.tags()['agent.health.detail'], 'device key rejected');
    w.cloudSim.setDeviceTag(W.uuid, 'agent.identify', 'after');
    for (let i = 0; i < 12; i++) await w.step(300_000);
    assert.equal(w.calls('/v1/blink'), 1);
    assert.equal(w.agent.health().state, 'ok');
    assert.equal(w.tags()['agent.health'], 'ok');
    assert.equal(w.ack('identify')?.state, 'done');
  });

  it('a 5xx on an idempotent command is retried; on a reboot it fails once, not repeated, budget not spent', async () => {
    const w = (world = await startWorld());
    // The next request after `path` (the command's call follows it) answers `status`.
    const failAfter = (path: string, status: number) => {
      const off = w.sup.onRequest((r) => {
        if (r.path === path) {
          off();
          w.sup.failNext(1, status);
        }
      });
    };
    failAfter('/v2/applications/state', 503);
    await w.tag('agent.identify', 'i1');
    await w.step(60_000);
    assert.equal(w.ack('identify')?.state, 'done');
    assert.equal(w.sup.requests.filter((r) => r.path === '/v1/blink' && r.status === 200).length, 1);
    // A reboot's `running` ack is written just before its call.
    failAfter('/v2/device/tags', 500);
    await w.tag('agent.reboot', 'r1');
    await w.step(600_000);
    assert.equal(w.ack('reboot')?.state, 'failed');
    assert.match(w.ack('reboot')?.detail ?? '', /500.*not repeated/);
    assert.equal(w.calls('/v1/reboot'), 1);
    assert.equal(w.sup.reboots, 0);
    assert.equal(w.agent.status().journal.rebootsLast24h, 0);
  });

  it('the supervisor state answers 5xx: health degraded with the reason, clear again once it recovers', async () => {
    const w = (world = await startWorld());
    await w.step(15_000); // the first report is written: the next supervisor request is the state read
    w.sup.failNext(1, 500);
    w.agent.pollNow();
    await w.agent.idle();
    await w.step(15_000);
    assert.deepEqual(w.agent.health(), { state: 'degraded', reasons: ['supervisor answers HTTP 500'] });
    assert.equal(w.tags()['agent.health.detail'], 'supervisor answers HTTP 500');
    await w.step(300_000);
    assert.equal(w.agent.health().state, 'ok');
  });
});
