import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Scheduler } from '../../src/agent/scheduler.js';
import { LogHub } from '../../src/http/log-hub.js';
import { LogsSocket } from '../../src/http/logs-socket.js';
import { startHttpServer, type HttpServerHandle } from '../../src/http/server.js';
import { systemClock } from '../../src/lib/clock.js';
import { until } from '../helpers/cli.js';
import { startSim, type SimHarness } from '../helpers/supervisor-sim.js';

const TOKEN = 'logs-token-0123456789';

interface Client {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  /** Resolves once `n` messages have arrived in all. */
  received(n: number): Promise<Record<string, unknown>[]>;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const ws = new WebSocket(url, { headers });
  const messages: Record<string, unknown>[] = [];
  const waiters: { n: number; resolve: (m: Record<string, unknown>[]) => void }[] = [];
  ws.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
    for (const w of [...waiters]) {
      if (messages.length < w.n) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(messages);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({
      ws, messages, closed,
      received: (n) => (messages.length >= n ? Promise.resolve(messages) : new Promise((r) => waiters.push({ n, resolve: r }))),
    }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('/logs WebSocket on the supervisor simulator\'s journal', () => {
  let h: SimHarness;
  let scheduler: Scheduler;
  let hub: LogHub;
  let server: HttpServerHandle;
  let guarded: HttpServerHandle;
  let ws: string;

  before(async () => {
    h = await startSim();
    const client = h.client();
    for (let i = 0; i < 150; i++) h.sim.pushJournal({ message: `old line ${i}`, unit: i % 2 ? 'balena.service' : 'NetworkManager.service' });
    scheduler = new Scheduler({ clock: systemClock });
    hub = new LogHub({ journal: (opts, signal) => client.journalLogs(opts, signal) });
    scheduler.service('live-logs', (s) => hub.run(s), { baseMs: 50, maxMs: 200 });
    const common = { port: 0, bind: '127.0.0.1', healthz: () => ({ ok: true, reasons: [] }), status: () => ({}) };
    server = await startHttpServer({ ...common, token: null, logs: new LogsSocket({ hub, redact: (t) => t.split('SECRETKEY').join('[redacted]') }) });
    guarded = await startHttpServer({ ...common, token: TOKEN, logs: new LogsSocket({ hub }) });
    ws = server.url.replace('http:', 'ws:');
  });
  after(async () => {
    hub.close();
    await scheduler.stop();
    await server.close();
    await guarded.close();
    await h.close();
  });

  it('opens one follow for all clients, sends the last lines on connect, then live lines, filtered by unit and match', async () => {
    assert.equal(h.sim.journalFollowers, 0, 'no follow without a client');
    const all = await connect(`${ws}/logs`);
    const balena = await connect(`${ws}/logs?unit=balena`);
    const matching = await connect(`${ws}/logs?unit=NetworkManager.service,balena.service&match=line%201%5B0-4%5D0%24`);
    // The first client gets the follow's backlog (100 lines); the others what the ring holds that matches.
    await all.received(100);
    await until('one follow', () => h.sim.journalFollowers === 1);
    h.sim.pushJournal({ message: 'live SECRETKEY line', unit: 'balena.service', priority: 3 });
    const got = await all.received(101);
    const live: Record<string, unknown> = got[100] ?? {};
    assert.deepEqual([live.unit, live.priority, live.message], ['balena.service', 3, 'live [redacted] line']);
    assert.deepEqual(Object.keys(live).sort(), ['message', 'priority', 'time', 'unit']);
    assert.match(String(live.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(got[0]?.message, 'old line 50');
    const b = await balena.received(1);
    await until('balena client got the live line', () => b.some((m) => String(m.message).startsWith('live')));
    assert.ok(b.every((m) => m.unit === 'balena.service'));
    assert.deepEqual(matching.messages.map((m) => m.message), ['old line 100', 'old line 110', 'old line 120', 'old line 130', 'old line 140']);
    for (const c of [all, balena, matching]) c.ws.close();
    await until('the follow ends with the last client', () => h.sim.journalFollowers === 0);
  });

  it('answers 400 to a match that is not a regular expression', async () => {
    await assert.rejects(connect(`${ws}/logs?match=%5Bunclosed`), /HTTP 400/);
  });

  it('needs the token on the upgrade when one is set (header or ?token=)', async () => {
    const url = `${guarded.url.replace('http:', 'ws:')}/logs`;
    await assert.rejects(connect(url), /HTTP 401/);
    await assert.rejects(connect(`${url}?token=wrong-token-0000000`), /HTTP 401/);
    const withHeader = await connect(url, { authorization: `Bearer ${TOKEN}` });
    const withQuery = await connect(`${url}?token=${TOKEN}`);
    withHeader.ws.close();
    withQuery.ws.close();
    await Promise.all([withHeader.closed, withQuery.closed]);
  });

  it('a client that stops reading gets every line or its count as dropped, even when no line follows the drops (the kernel\'s socket buffers may hold them all)', async () => {
    const slow = await connect(`${ws}/logs?match=%5Ebig`);
    await until('follow open', () => h.sim.journalFollowers === 1);
    slow.ws.pause();
    const big = 'x'.repeat(16 * 1024);
    // Under user-mode emulation 24 MB of journal JSON takes minutes: a fifth of it still overflows the 64 KB bound.
    const n = (process.env.FLEET_AGENT_TEST_LAUNCHER ?? '') === '' ? 1500 : 300;
    for (let i = 0; i < n; i++) h.sim.pushJournal({ message: `big ${i} ${big}`, unit: 'balena.service' });
    // The agent side has no more than its queue bound plus the socket buffers in flight; now read.
    slow.ws.resume();
    // Every line arrives or is counted: a count rides on the next line sent, or comes alone once the
    // socket has caught up (no line follows here).
    const accounted = (): number => slow.messages.reduce((sum, m) => sum + (typeof m.dropped === 'number' ? m.dropped : 0) + (typeof m.message === 'string' ? 1 : 0), 0);
    await until('every line sent or counted', () => accounted() === n || undefined, 60_000);
    assert.equal(accounted(), n);
    slow.ws.close();
    await slow.closed;
  });

  it('closes every socket with 1001 and ends the follow when the agent stops', async () => {
    const c = await connect(`${ws}/logs`);
    await until('follow open', () => h.sim.journalFollowers === 1);
    hub.close();
    assert.deepEqual(await c.closed, { code: 1001, reason: 'agent stopping' });
    await until('follow closed', () => h.sim.journalFollowers === 0);
  });
});
