import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startWorld, W, type World } from '../helpers/agent-harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});


describe('agent against the simulators: exactly once', () => {
  it('one supervisor call per token; same token again → none; new token → one more', async () => {
    const w = (world = await startWorld());
    await w.tag('agent.identify', 'tok1');
    assert.equal(w.calls('/v1/blink'), 1);
    await w.step(10_000);
    assert.equal(w.ack('identify')?.state, 'done');
    assert.equal(w.ack('identify')?.token, 'tok1');
    w.agent.pollNow();
    await w.agent.idle();
    await w.step(300_000);
    assert.equal(w.calls('/v1/blink'), 1, 'the same token does nothing');
    await w.restart();
    await w.step(300_000);
    assert.equal(w.calls('/v1/blink'), 1, 'not after a restart either');
    await w.tag('agent.identify', 'tok2');
    assert.equal(w.calls('/v1/blink'), 2);
  });

  it('reboot: running until a new boot id is seen by the restarted agent, then done', async () => {
    const w = (world = await startWorld());
    await w.tag('agent.reboot', 'r1');
    assert.equal(w.calls('/v1/reboot'), 1);
    assert.equal(w.sup.reboots, 1);
    await w.step(10_000);
    assert.equal(w.ack('reboot')?.state, 'running');
    assert.match(w.ack('reboot')?.detail ?? '', /waiting for a new boot/);
    const bootId = (await readFile(w.bootIdPath, 'utf8')).trim();
    assert.equal(bootId, w.sup.bootId, 'the simulator wrote a new boot id');
    await w.restart();
    await w.step(10_000);
    assert.equal(w.ack('reboot')?.state, 'done');
    await w.step(600_000);
    assert.equal(w.calls('/v1/reboot'), 1);
  });

  it('reboot accepted but the device still up after the grace period → failed, not repeated', async () => {
    const w = (world = await startWorld());
    await w.tag('agent.reboot', 'stuck');
    assert.equal(w.calls('/v1/reboot'), 1);
    await w.step(14 * 60_000);
    assert.equal(w.ack('reboot')?.state, 'running');
    await w.step(2 * 60_000);
    assert.equal(w.ack('reboot')?.state, 'failed');
    assert.match(w.ack('reboot')?.detail ?? '', /^reboot requested: the device is still up 15 min later \(same boot\); not repeated/);
    await w.step(30 * 60_000);
    assert.equal(w.calls('/v1/reboot'), 1);
  });

  it('reboot whose connection drops after sending is not repeated: it waits for a new boot', async () => {
    const w = (world = await startWorld());
    const off = w.sup.onRequest((r) => {
      if (r.path === '/v1/reboot') w.sup.setDown(true);
    });
    await w.tag('agent.reboot', 'cut');
    off();
    w.sup.setDown(false);
    await w.step(10_000);
    assert.match(w.tags()['agent.reboot.ack'] ?? '', /^cut running \S+ no answer from the supervisor; waiting for a new boot$/);
    await w.step(600_000);
    assert.equal(w.calls('/v1/reboot'), 1, 'a call that may have arrived is never sent again');
  });

  it('reboot while the supervisor refuses connections is retried until it answers, once', async () => {
    const w = (world = await startWorld());
    w.sup.setDown(true);
    await w.tag('agent.reboot', 'later');
    // First `running … reboot requested` (written before the call), then why it waits.
    await w.step(30_000);
    assert.match(w.tags()['agent.reboot.ack'] ?? '', /^later running \S+ supervisor unreachable; retrying$/);
    w.sup.setDown(false);
    await w.step(60_000);
    assert.equal(w.calls('/v1/reboot'), 1);
    assert.equal(w.sup.reboots, 1);
  });

  it('restarted agent in the same boot: the reboot is watched for, not resent; failed "same boot" after the grace period', async () => {
    const w = (world = await startWorld());
    const { writeFile } = await import('node:fs/promises');
    const original = (await readFile(w.bootIdPath, 'utf8')).trim();
    await w.tag('agent.reboot', 'r1');
    // Wait for the simulator's new boot id, then put the old one back: as if the reboot never happened.
    const deadline = Date.now() + 5_000;
    while ((await readFile(w.bootIdPath, 'utf8')).trim() !== w.sup.bootId && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    await writeFile(w.bootIdPath, `${original}\n`);
    await w.restart();
    await w.step(10_000);
    assert.equal(w.ack('reboot')?.state, 'running');
    assert.match(w.ack('reboot')?.detail ?? '', /^agent restarted during the call; waiting for a new boot$/);
    await w.step(16 * 60_000);
    assert.equal(w.ack('reboot')?.state, 'failed');
    assert.match(w.ack('reboot')?.detail ?? '', /same boot/);
    assert.equal(w.calls('/v1/reboot'), 1);
  });

  it('restarted in the same boot, and the device reboots moments later → done, not "did not happen"', async () => {
    const w = (world = await startWorld());
    const { writeFile } = await import('node:fs/promises');
    const original = (await readFile(w.bootIdPath, 'utf8')).trim();
    await w.tag('agent.reboot', 'r2');
    const deadline = Date.now() + 5_000;
    while ((await readFile(w.bootIdPath, 'utf8')).trim() !== w.sup.bootId && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    const rebooted = (await readFile(w.bootIdPath, 'utf8')).trim();
    await writeFile(w.bootIdPath, `${original}\n`);
    await w.restart();
    await w.step(60_000);
    await writeFile(w.bootIdPath, `${rebooted}\n`);
    await w.restart();
    await w.step(10_000);
    assert.equal(w.ack('reboot')?.state, 'done');
    assert.equal(w.calls('/v1/reboot'), 1);
  });

  it('a held update lock → retried, then blocked after the lock wait; force goes through', async () => {
    const w = (world = await startWorld({ config: { lockWaitMs: 120_000 } }));
    w.sup.setLock('Lockfile exists for { appId: 1, service: main }');
    await w.tag('agent.restart', 'x1');
    await w.step(10_000);
    assert.equal(w.ack('restart')?.state, 'running');
    assert.match(w.ack('restart')?.detail ?? '', /Lockfile exists/);
    for (let i = 0; i < 12; i++) await w.step(10_000);
    assert.equal(w.ack('restart')?.state, 'blocked');
    const tries = w.sup.requests.filter((r) => r.path === '/v1/restart' || r.path.endsWith('/restart')).length;
    assert.ok(tries >= 3, `retried (${tries} tries)`);
    assert.ok(w.sup.requests.every((r) => (r.body as { force?: unknown } | undefined)?.force !== true), 'never forced');
    await w.tag('agent.restart', 'x2 force');
    await w.step(10_000);
    assert.equal(w.ack('restart')?.state, 'done');
    assert.equal(w.ack('restart')?.token, 'x2');
  });

  it('purge not allowed → rejected, nothing sent', async () => {
    const w = (world = await startWorld());
    await w.tag('agent.purge', 'p1');
    await w.step(10_000);
    assert.equal(w.ack('purge')?.state, 'rejected');
    assert.match(w.ack('purge')?.detail ?? '', /not allowed/);
    assert.equal(w.sup.requests.filter((r) => r.path.includes('purge')).length, 0);
  });

  it('an unknown service → rejected with the known ones listed', async () => {
    const w = (world = await startWorld());
    await w.tag('agent.restart-service', 's1 nosuch');
    await w.step(10_000);
    assert.equal(w.ack('restart-service')?.state, 'rejected');
    assert.match(w.ack('restart-service')?.detail ?? '', /unknown service "nosuch"; known: .*main/);
  });

  it('a service named by image id runs on that service, by name; image ids are read only for such a tag', async () => {
    const w = (world = await startWorld());
    const imageReads = () => w.sup.requests.filter((r) => r.path === '/v2/state/status').length;
    await w.tag('agent.stop-service', 's1 main');
    await w.step(10_000);
    assert.equal(w.ack('stop-service')?.state, 'done');
    assert.equal(imageReads(), 0, 'a poll with service names asks nothing more');
    await w.tag('agent.stop-service', 's2 1001');
    await w.step(10_000);
    assert.equal(w.ack('stop-service')?.state, 'done');
    const calls = w.sup.requests.filter((r) => r.path.endsWith('/stop-service'));
    assert.deepEqual(calls.map((r) => (r.body as { serviceName?: unknown }).serviceName), ['main', 'main']);
    for (let i = 0; i < 3; i++) await w.step(300_000);
    assert.equal(imageReads(), 1, 'once the token is in the journal, the tag left in place costs nothing');
  });

  it('reboots beyond the budget are deferred and run when the budget returns', async () => {
    const w = (world = await startWorld({ config: { maxRebootsPerDay: 1 } }));
    await w.tag('agent.reboot', 'a');
    await w.restart();
    await w.tag('agent.reboot', 'b');
    await w.step(10_000);
    assert.equal(w.ack('reboot')?.state, 'deferred');
    assert.equal(w.calls('/v1/reboot'), 1);
    for (let i = 0; i < 5; i++) await w.step(5 * 3_600_000);
    assert.equal(w.calls('/v1/reboot'), 2, 'ran once 24 h had passed');
  });
});

describe('agent against the simulators: outages', () => {
  it('cloud down for hours → keeps running, catches up within one poll after it returns', async () => {
    const w = (world = await startWorld());
    w.cloudSim.setDown(true);
    for (let i = 0; i < 36; i++) await w.step(600_000);
    assert.equal(w.agent.health().state, 'degraded');
    w.cloudSim.setDeviceTag(W.uuid, 'agent.identify', 'late');
    w.cloudSim.setDown(false);
    const interval = w.agent.effectiveConfig().pollIntervalMs;
    await w.step(interval);
    assert.equal(w.calls('/v1/blink'), 1);
    assert.equal(w.agent.health().state, 'ok');
  });

  it('supervisor down → the ack says so and the command runs when it returns', async () => {
    const w = (world = await startWorld());
    w.sup.setDown(true);
    await w.tag('agent.identify', 'i1');
    await w.step(10_000);
    const tags = w.tags();
    assert.match(tags['agent.identify.ack'] ?? '', /^i1 running \S+ supervisor unreachable; retrying$/);
    w.sup.setDown(false);
    await w.step(60_000);
    await w.step(10_000);
    assert.equal(w.ack('identify')?.state, 'done');
    assert.equal(w.calls('/v1/blink'), 1);
  });

  it('a rejected device key → failing "device key rejected", and polling backs off', async () => {
    const w = (world = await startWorld());
    w.cloudSim.revokeDevice(W.uuid);
    const before = w.cloudSim.requests.length;
    for (let i = 0; i < 24; i++) await w.step(300_000);
    const h = w.agent.health();
    assert.equal(h.state, 'failing');
    assert.ok(h.reasons.includes('device key rejected'));
    const polls = w.cloudSim.requests.slice(before).filter((r) => r.method === 'GET').length;
    assert.ok(polls <= 8, `backed off: ${polls} polls in 2 h at a 5 min interval`);
  });
});

describe('agent against the simulators: settings and tag paths', () => {
  it('a live poll-interval tag applies without a restart; a bad one shows in health.detail', async () => {
    const w = (world = await startWorld());
    const polls = () => w.cloudSim.requests.filter((r) => r.method === 'GET' && r.path.includes('device')).length;
    w.cloudSim.setDeviceTag(W.uuid, 'agent.config.poll-interval', '1m');
    await w.step(300_000);
    assert.equal(w.agent.effectiveConfig().pollIntervalMs, 60_000);
    const start = polls();
    await w.step(600_000);
    assert.ok(polls() - start >= 9, `polled every minute (${polls() - start})`);
    w.cloudSim.setDeviceTag(W.uuid, 'agent.config.poll-interval', '3s');
    await w.step(60_000);
    await w.step(10_000);
    assert.equal(w.agent.effectiveConfig().pollIntervalMs, 60_000, 'the bad value keeps the previous one');
    assert.equal(w.tags()['agent.health'], 'degraded');
    assert.match(w.tags()['agent.health.detail'] ?? '', /poll-interval/);
  });

  it('a live log-level tag changes the level of the running logger', async () => {
    const w = (world = await startWorld());
    assert.equal(w.log.level, 'silent');
    w.cloudSim.setDeviceTag(W.uuid, 'agent.config.log-level', 'debug');
    await w.step(300_000);
    assert.equal(w.log.level, 'debug');
    w.cloudSim.removeDeviceTag(W.uuid, 'agent.config.log-level');
    await w.step(300_000);
    assert.equal(w.log.level, 'info', 'back to the environment value');
  });

  it('acks go through PATCH /v2/device/tags on a supervisor ≥ 17.8.0', async () => {
    const w = (world = await startWorld());
    await w.tag('agent.identify', 'v1');
    await w.step(10_000);
    assert.ok(w.sup.requests.some((r) => r.method === 'PATCH' && r.path === '/v2/device/tags'));
    assert.equal(w.ack('identify')?.state, 'done');
    assert.equal(w.tags()['agent.version'], '9.9.9');
  });

  it('acks go directly to the cloud on an older supervisor', async () => {
    const w = (world = await startWorld({ supervisorVersion: '17.7.9' }));
    await w.tag('agent.identify', 'v1');
    await w.step(10_000);
    assert.ok(!w.sup.requests.some((r) => r.method === 'PATCH' && r.path === '/v2/device/tags'));
    assert.equal(w.ack('identify')?.state, 'done');
    assert.ok(w.cloudSim.requests.some((r) => r.method !== 'GET' && r.path.includes('tags')));
  });

  it('the journal file records the token before the effect', async () => {
    const w = (world = await startWorld());
    let seen: string | undefined;
    w.sup.onRequest((r) => {
      if (r.path === '/v1/blink') seen = (JSON.parse(readFileSync(join(w.dir, 'data', 'journal.json'), 'utf8')) as { entries: { token: string; state: string; sending: boolean }[] }).entries.map((e) => `${e.token}:${e.state}:${e.sending}`).join();
    });
    await w.tag('agent.identify', 'j1');
    assert.equal(seen, 'j1:running:true');
  });
});
