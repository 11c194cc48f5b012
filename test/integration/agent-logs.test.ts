import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startWorld, type World } from '../helpers/agent-harness.js';
import { LogReceiver } from '../helpers/log-receiver.js';

let world: World | undefined;
let receiver: LogReceiver | undefined;
afterEach(async () => {
  await world?.close();
  await receiver?.stop();
  world = undefined;
});

describe('the agent forwards logs (buildAgent wiring)', () => {
  it('a live tag turns forwarding on; /status, logStats() and health show it; credentials never show', async () => {
    receiver = new LogReceiver();
    receiver.basic = 'bob:s3cret-pass';
    const url = await receiver.start();
    const w = (world = await startWorld({ logs: true, clockedSupervisor: true }));
    assert.deepEqual(w.agent.logStats(), { sinks: [], spoolBytes: 0 });
    const withAuth = url.replace('http://', 'http://bob:s3cret-pass@');
    await w.tag('agent.config.logs-forward', withAuth);
    for (let i = 0; i < 50 && w.sup.journalFollowers === 0; i++) await w.step(250);
    w.sup.pushJournal({ message: 'hello from the host', unit: 'balena.service' });
    for (let i = 0; i < 200 && !receiver.lines.some((l) => l.message === 'hello from the host'); i++) {
      await w.step(250);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.ok(receiver.lines.some((l) => l.message === 'hello from the host' && l.unit === 'balena.service'));
    const stats = w.agent.logStats()!;
    assert.equal(stats.sinks.length, 1);
    assert.equal(stats.sinks[0]!.sink, url, 'the sink label carries no credentials');
    assert.ok(stats.sinks[0]!.sent >= 1);
    assert.ok(stats.spoolBytes > 0);
    const status = w.agent.status();
    assert.equal(status.logs?.sinks[0]?.sink, url);
    assert.ok(!JSON.stringify(status).includes('s3cret-pass'), 'no credential in /status');
    assert.deepEqual(status.config.logsForward, [url.replace('http://', 'http://***@')]);
    // A sink that refuses the credentials is a health reason, and nothing is dropped for it.
    receiver.basic = 'someone:else';
    w.sup.pushJournal({ message: 'refused', unit: 'balena.service' });
    for (let i = 0; i < 200 && !w.agent.health().reasons.some((r) => r.includes('refuses the credentials')); i++) {
      await w.step(250);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.ok(w.agent.health().reasons.includes(`logs: ${url} refuses the credentials`), w.agent.health().reasons.join('; '));
    assert.equal(w.agent.logStats()!.sinks[0]!.dropped, 0);
  });
});
