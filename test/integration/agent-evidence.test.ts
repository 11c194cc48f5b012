/**
 * The agent against both simulators when a call's answer is lost: `done` only on evidence
 * (evidence.ts), a purge recorded in the cloud before it may wipe the journal, and many made-up
 * tags costing no writes once acknowledged.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import { Journal } from '../../src/agent/journal.js';
import { COMMAND_NAMES } from '../../src/config/schema.js';
import { entry, fillableStore } from '../helpers/agent-fixtures.js';
import { startWorld, W, type World } from '../helpers/agent-harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const MIN = 60_000;
const ALL = [...COMMAND_NAMES];

async function containerIds(w: World): Promise<Record<string, string>> {
  const res = await fetch(`${w.sup.url}/v2/containerId?apikey=${W.supervisorKey}`);
  return ((await res.json()) as { services: Record<string, string> }).services;
}

/** As a process killed inside the call leaves the journal: the intent, sent, no outcome. */
async function killedDuringCall(w: World, command: string, token: string, over: Parameters<typeof entry>[0] extends infer E ? Partial<E> : never): Promise<void> {
  await w.agent.stop();
  const journal = new Journal({ dir: w.agent.effectiveConfig().dataDir, clock: w.clock });
  await journal.load();
  await journal.put(entry({ command, token, state: 'running', sending: true, bootId: 'boot-initial', sentAt: w.clock.wall(), ...over }));
  w.cloudSim.setDeviceTag(W.uuid, `agent.${command}`, token);
}

describe('a call whose answer was lost is done only on evidence', () => {
  it('restart of the agent\'s own app, killed during a call the supervisor never got: watched, then failed; never done, never resent', async () => {
    const w = (world = await startWorld());
    await killedDuringCall(w, 'restart', 'k1', { before: await containerIds(w) });
    await w.restart();
    await w.step(10_000);
    assert.equal(w.ack('restart')?.state, 'running');
    assert.match(w.ack('restart')?.detail ?? '', /^agent restarted during the call; checking for 3 min whether it happened$/);
    await w.step(4 * MIN);
    assert.equal(w.ack('restart')?.state, 'failed');
    assert.match(w.ack('restart')?.detail ?? '', /no container recreated within 3 min; not repeated/);
    await w.step(20 * MIN);
    assert.equal(w.calls('/v1/restart'), 0, 'never sent by this process');
    assert.equal(w.sup.counts.restarts, 0);
  });

  it('the same, but the supervisor did act (new container ids) → done, and not sent again', async () => {
    const w = (world = await startWorld());
    await killedDuringCall(w, 'restart', 'k2', { before: await containerIds(w) });
    await fetch(`${w.sup.url}/v1/restart?apikey=${W.supervisorKey}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"appId":${W.appId}}` });
    await w.restart();
    await w.step(10_000);
    assert.equal(w.ack('restart')?.state, 'done');
    assert.match(w.ack('restart')?.detail ?? '', /containers recreated/);
    await w.step(20 * MIN);
    assert.equal(w.sup.counts.restarts, 1);
  });

  it('the supervisor acts late (it was slow): seen during the watch → done', async () => {
    const w = (world = await startWorld());
    await killedDuringCall(w, 'restart-service', 'k3', { services: ['main'], before: await containerIds(w) });
    await w.restart();
    await w.step(MIN);
    assert.equal(w.ack('restart-service')?.state, 'running');
    await fetch(`${w.sup.url}/v2/applications/${W.appId}/restart-service?apikey=${W.supervisorKey}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"serviceName":"main"}' });
    await w.step(MIN);
    assert.equal(w.ack('restart-service')?.state, 'done');
    assert.match(w.ack('restart-service')?.detail ?? '', /container recreated \(main\)/);
  });

  it('a restart whose reply is lost, in this process: watched and done once the containers are seen recreated', async () => {
    const w = (world = await startWorld());
    const off = w.sup.onRequest((r) => {
      if (r.path === '/v1/restart') w.sup.setDown(true);
    });
    await w.tag('agent.restart', 'lost');
    off();
    w.sup.setDown(false);
    await w.step(30_000);
    assert.equal(w.sup.counts.restarts, 1);
    assert.equal(w.ack('restart')?.state, 'done', w.ack('restart')?.detail);
    assert.equal(w.calls('/v1/restart'), 1);
  });
});

describe('purge: the ack reaches the cloud before the volume can be wiped', () => {
  it('the cloud holds "<token> running" when the supervisor gets the call; after the wipe the new process says done, once', async () => {
    const w = (world = await startWorld({ config: { actions: ALL } }));
    const seenAtCall: (string | undefined)[] = [];
    const off = w.sup.onRequest((r) => {
      if (r.path !== '/v1/purge') return;
      seenAtCall.push(w.tags()['agent.purge.ack']);
      w.sup.setDown(true); // the agent dies with its container: no answer
    });
    await w.tag('agent.purge', 'p1');
    off();
    assert.equal(seenAtCall.length, 1);
    assert.match(seenAtCall[0] ?? '', /^p1 running /);
    // What the purge did: the data volume is gone; the agent starts again in a new container.
    await w.agent.stop();
    await rm(w.agent.effectiveConfig().dataDir, { recursive: true, force: true });
    w.sup.setDown(false);
    await w.restart();
    await w.step(10_000);
    assert.equal(w.ack('purge')?.state, 'done');
    assert.equal(w.ack('purge')?.detail, 'the data volume was wiped');
    await w.step(30 * MIN);
    assert.equal(w.calls('/v1/purge'), 1, 'never purged again');
  });

  it('with the cloud unreachable the purge waits (nothing sent), and runs once the cloud has the ack', async () => {
    const w = (world = await startWorld({ config: { actions: ALL } }));
    // The cloud goes away right after the poll that brings the tag: the first write finds it down.
    const off = w.cloudSim.onRequest((r) => {
      if (r.method === 'GET') w.cloudSim.setDown(true);
    });
    await w.tag('agent.purge', 'p2');
    off();
    await w.step(2 * MIN);
    assert.equal(w.calls('/v1/purge'), 0, 'not while the cloud cannot record it');
    const local = w.agent.status().recentActions.find((a) => a.token === 'p2');
    assert.match(local?.detail ?? '', /waiting for the cloud to record the purge/);
    w.cloudSim.setDown(false);
    await w.step(2 * MIN);
    assert.equal(w.calls('/v1/purge'), 1);
    assert.equal(w.ack('purge')?.state, 'done');
  });
});

describe('stop', () => {
  it('writes the acks still waiting in the reporter\'s batch, at once', async () => {
    const w = (world = await startWorld());
    await w.step(MIN);
    await w.tag('agent.identify', 'i9');
    assert.notEqual(w.ack('identify')?.state, 'done', 'still inside the batch window');
    await w.agent.stop();
    assert.equal(w.ack('identify')?.token, 'i9');
    assert.equal(w.ack('identify')?.state, 'done');
  });
});

describe('many made-up agent.* tags', () => {
  it('are rejected with one journal write and one tag write, then cost nothing at later polls', async () => {
    let disk = { allowed: null as number | null, writes: 0 };
    const w = (world = await startWorld({
      journalFile: (dir) => {
        const made = fillableStore(dir);
        disk = made.disk;
        return made.store;
      },
    }));
    await w.step(MIN);
    for (let i = 0; i < 600; i++) w.cloudSim.setDeviceTag(W.uuid, `agent.thing-${i}`, `v${i}`);
    const writesBefore = disk.writes;
    const tagWritesBefore = w.sup.requests.filter((r) => r.path === '/v2/device/tags' && r.method === 'PATCH').length;
    w.agent.pollNow();
    await w.agent.idle();
    await w.step(20_000);
    assert.equal(disk.writes - writesBefore, 1, 'one fsynced write for 600 rejections');
    assert.match(w.tags()['agent.thing-599.ack'] ?? '', /^v599 rejected \S+ unknown command "thing-599"/);
    assert.equal(Object.keys(w.tags()).filter((k) => /^agent\.thing-\d+\.ack$/.test(k)).length, 600, 'every one is acknowledged');
    const steadyWrites = disk.writes;
    const steadyTags = w.sup.requests.filter((r) => r.path === '/v2/device/tags' && r.method === 'PATCH').length;
    assert.ok(steadyTags - tagWritesBefore <= 3, `${steadyTags - tagWritesBefore} tag writes`);
    for (let i = 0; i < 5; i++) {
      w.agent.pollNow();
      await w.agent.idle();
      await w.step(20_000);
    }
    assert.equal(disk.writes, steadyWrites, 'no journal write at later polls');
    assert.equal(w.sup.requests.filter((r) => r.path === '/v2/device/tags' && r.method === 'PATCH').length, steadyTags, 'no tag write either');
  });
});
