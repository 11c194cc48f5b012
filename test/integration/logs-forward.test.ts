import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { LogReceiver, type Received } from '../helpers/log-receiver.js';
import { startLogsWorld, type LogsWorld } from '../helpers/logs-world.js';

let world: LogsWorld | undefined;
const receivers: LogReceiver[] = [];
afterEach(async () => {
  await world?.close();
  world = undefined;
  for (const r of receivers.splice(0)) await r.stop();
});

async function receiver(): Promise<LogReceiver> {
  const r = new LogReceiver();
  await r.start();
  receivers.push(r);
  return r;
}

/** Messages per unit, in arrival order. */
function byUnit(lines: readonly Received[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of lines) out.set(String(l.unit), [...(out.get(String(l.unit)) ?? []), String(l.message)]);
  return out;
}

const sent = (w: LogsWorld, label: string) => w.fwd.stats().sinks.find((s) => s.sink === label);

describe('log forwarding (supervisor simulator, ManualClock)', () => {
  it('a 30-minute sink outage while lines flow loses nothing within the spool; all arrive in order per unit', async () => {
    const r = await receiver();
    world = await startLogsWorld({ logsForward: [r.url] });
    const w = world;
    await w.until(() => w.sup.journalFollowers > 0, 'the follow stream');
    const first = w.push(30, 'before');
    await w.until(() => r.lines.length === 30, 'the first lines');
    r.down = true;
    const produced = [...first];
    const failing = `logs: ${r.url} failing for more than 15 min`;
    for (let s = 0; s < 30 * 60; s += 10) {
      produced.push(...w.push(20, 'during'));
      await w.clock.advance(10_000, 20);
      if (s === 10 * 60) assert.deepEqual(w.fwd.problems(), [], 'ten minutes of failing is not yet a health reason');
    }
    await w.until(() => w.fwd.status().sinks[0]!.pending === produced.length - 30, 'everything spooled');
    assert.equal(r.lines.length, 30, 'nothing arrives while the sink is down');
    assert.deepEqual(w.fwd.problems(), [failing]);
    r.down = false;
    await w.until(() => r.lines.length >= produced.length, 'delivery after recovery', 1000);
    assert.deepEqual(w.fwd.problems(), [], 'delivering again clears it');
    assert.equal(r.lines.length, produced.length, 'no line twice');
    assert.deepEqual(new Set(r.lines.map((l) => l.message)), new Set(produced));
    const want = byUnit(produced.map((message, i) => ({ message, unit: `u${(i + 1) % 3}.service` })));
    assert.deepEqual(byUnit(r.lines), want, 'in order per unit');
    assert.deepEqual(sent(w, r.url), { sink: r.url, sent: produced.length, dropped: 0 });
    assert.equal(r.lines[0]!.device_uuid, 'uuid-1');
  });

  it('beyond the spool: received + dropped = produced exactly, the newest are kept, and health says so', async () => {
    const r = await receiver();
    world = await startLogsWorld({ logsForward: [r.url], logsSpoolBytes: 256 * 1024 });
    const w = world;
    await w.until(() => w.sup.journalFollowers > 0, 'the follow stream');
    r.down = true;
    const produced: string[] = [];
    for (let i = 0; i < 60; i++) {
      produced.push(...w.push(100, 'x'.repeat(100)));
      await w.clock.advance(5_000, 20);
    }
    await w.until(() => {
      const s = w.fwd.status().sinks[0]!;
      return s.pending + s.dropped === produced.length;
    }, 'every line stored or dropped');
    r.down = false;
    await w.until(() => {
      const s = sent(w, r.url)!;
      return s.sent + s.dropped === produced.length;
    }, 'everything delivered or dropped', 1000);
    const s = sent(w, r.url)!;
    assert.ok(s.dropped > 0, 'the spool overflowed');
    assert.equal(r.lines.length + s.dropped, produced.length);
    assert.deepEqual(r.lines.map((l) => l.message), produced.slice(produced.length - r.lines.length), 'the newest lines, in order');
    assert.ok(w.fwd.status().spoolBytes <= 256 * 1024);
    assert.ok(w.fwd.problems().some((p) => p === `logs: ${s.dropped} lines dropped for ${r.url} in the last hour`), w.fwd.problems().join('; '));
    await w.clock.advance(61 * 60_000);
    assert.deepEqual(w.fwd.problems(), [], 'drops older than an hour are no reason');
  });

  it('one slow sink does not stall another; a poison line is dropped alone; 413 halves; 429 waits its Retry-After', async () => {
    const good = await receiver();
    const bad = await receiver();
    bad.down = true;
    world = await startLogsWorld({ logsForward: [good.url, `loki+${bad.url}`] });
    const w = world;
    await w.until(() => w.sup.journalFollowers > 0, 'the follow stream');
    const a = w.push(250, 'steady');
    await w.until(() => good.lines.length === 250, 'the healthy sink');
    assert.equal(bad.lines.length, 0);
    // The healthy sink: a poison line, a size limit, a rate limit.
    good.poison = /poison/;
    good.maxLines = 30;
    good.queue.push({ status: 429, retryAfter: '120' });
    const b = w.push(40, 'more');
    w.sup.pushJournal({ message: 'a poison line', unit: 'u0.service' });
    const c = w.push(40, 'after');
    await w.clock.advance(1000, 20);
    const at429 = w.clock.now();
    await w.until(() => good.lines.length === 250 + 80, 'the rest, without the poison line');
    assert.ok(w.clock.now() - at429 >= 119_000, 'Retry-After in seconds was honoured');
    assert.deepEqual(good.lines.map((l) => l.message), [...a, ...b, ...c]);
    assert.equal(sent(w, good.url)!.dropped, 1);
    assert.ok(good.requests.some((q) => q.status === 413) && good.requests.some((q) => q.status === 400));
    // The slow sink comes back and gets everything, the poison line too.
    bad.down = false;
    await w.until(() => bad.lines.length === 331, 'the slow sink');
    // Loki gets one stream per unit: order holds within each unit.
    const unitOf = (m: string): string => (m === 'a poison line' ? 'u0.service' : `u${(Number(m.split(' ')[1]) + 1) % 3}.service`);
    assert.deepEqual(byUnit(bad.lines), byUnit([...a, ...b, 'a poison line', ...c].map((message) => ({ message, unit: unitOf(message) }))));
    assert.deepEqual(bad.lines[0]!.labels, { device_uuid: 'uuid-1', fleet: 'fleet-1', unit: bad.lines[0]!.unit });
  });

  it('a restart resumes where the spool left off: no line skipped, none repeated; filters apply live', async () => {
    const r = await receiver();
    world = await startLogsWorld({ logsForward: [r.url] });
    const w = world;
    await w.until(() => w.sup.journalFollowers > 0, 'the follow stream');
    const a = w.push(150, 'a');
    // Delivered and committed (a batch whose reply a stop cuts off is sent again: at most one batch repeats).
    await w.until(() => r.lines.length === 150 && w.fwd.status().sinks[0]?.pending === 0, 'before the restart');
    await w.restart();
    const b = w.push(20, 'b'); // while the agent is down
    await w.until(() => w.sup.journalFollowers > 0, 'the follow stream again');
    const c = w.push(20, 'c');
    await w.until(() => r.lines.length >= 190, 'after the restart', 250, 400).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${r.lines.length} lines, ${JSON.stringify(w.fwd.status())} ${JSON.stringify(w.sup.requests.filter((q) => q.path === '/v2/journal-logs').map((q) => q.body))}`);
    });
    await w.clock.advance(5_000, 20);
    assert.deepEqual(r.lines.map((l) => l.message), [...a, ...b, ...c]);
    w.config = { ...w.config, logsUnits: ['u0'], logsMatch: 'keep' };
    w.push(3, 'drop');
    w.sup.pushJournal({ message: 'keep this', unit: 'u0.service' });
    w.sup.pushJournal({ message: 'keep not this unit', unit: 'u1.service' });
    await w.until(() => r.lines.length === 191, 'the filtered line');
    await w.clock.advance(5_000, 20);
    assert.equal(r.lines.at(-1)!.message, 'keep this');
    assert.equal(r.lines.length, 191);
  });

  it('sinks follow AGENT_LOGS_FORWARD live: a new one starts at the head, a removed one stops', async () => {
    const one = await receiver();
    const two = await receiver();
    world = await startLogsWorld({ logsForward: [one.url] });
    const w = world;
    await w.until(() => w.sup.journalFollowers > 0, 'the follow stream');
    w.push(10, 'first');
    await w.until(() => one.lines.length === 10, 'sink one');
    w.config = { ...w.config, logsForward: [two.url] };
    w.fwd.wake();
    await w.until(() => w.fwd.stats().sinks.length === 1 && w.fwd.stats().sinks[0]!.sink === two.url, 'the switch');
    const next = w.push(10, 'second');
    await w.until(() => two.lines.length === 10, 'sink two');
    await w.clock.advance(5_000, 20);
    assert.equal(one.lines.length, 10);
    assert.deepEqual(two.lines.map((l) => l.message), next);
  });

  it('a journal outage (follow cut, 503s) is ridden out by reconnecting; nothing lost', async () => {
    const r = await receiver();
    world = await startLogsWorld({ logsForward: [r.url] });
    const w = world;
    await w.until(() => w.sup.journalFollowers > 0, 'the follow stream');
    const a = w.push(10, 'a');
    await w.until(() => r.lines.length === 10, 'before');
    w.sup.journalOutage(true);
    const b = w.push(10, 'b');
    await w.clock.advance(30_000, 20);
    w.sup.journalOutage(false);
    await w.until(() => r.lines.length === 20, 'after the outage');
    assert.deepEqual(r.lines.map((l) => l.message), [...a, ...b]);
  });
});
