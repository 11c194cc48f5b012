import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineFilter } from '../../src/logs/filter.js';
import type { LogLine } from '../../src/logs/line.js';
import { cloudLine, cloudPieces, CLOUD_BATCH, MAX_MESSAGE_CHARS } from '../../src/logs/sinks/cloud.js';
import { ndjsonBody } from '../../src/logs/sinks/http.js';
import { lokiBody } from '../../src/logs/sinks/loki.js';
import { nextStep } from '../../src/logs/sinks/runner.js';
import { SinkError, sinkTarget } from '../../src/logs/sinks/sink.js';
import { JournalSource, sinceArg } from '../../src/logs/source.js';

const l = (unit: string, message: string, priority = 6, ms = 0): LogLine => ({ time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString(), unit, priority, message });

describe('log sink bodies', () => {
  it('NDJSON: one {time, unit, priority, message, device_uuid} per line', () => {
    const text = ndjsonBody([l('a.service', 'one'), l('kernel', 'two', 3)], 'uuid1').toString();
    assert.equal(text, '{"time":"2026-01-01T00:00:00.000Z","unit":"a.service","priority":6,"message":"one","device_uuid":"uuid1"}\n'
      + '{"time":"2026-01-01T00:00:00.000Z","unit":"kernel","priority":3,"message":"two","device_uuid":"uuid1"}\n');
  });
  it('Loki: one stream per unit labelled device_uuid, fleet, unit; nanosecond strings; order kept within a unit', () => {
    const body = JSON.parse(lokiBody([l('a', 'x', 6, 1), l('b', 'y', 6, 2), l('a', 'z', 6, 3)], { deviceUuid: 'u', fleet: 'f' }).toString()) as unknown;
    const t = Date.UTC(2026, 0, 1);
    assert.deepEqual(body, {
      streams: [
        { stream: { device_uuid: 'u', fleet: 'f', unit: 'a' }, values: [[`${t + 1}000000`, 'x'], [`${t + 3}000000`, 'z']] },
        { stream: { device_uuid: 'u', fleet: 'f', unit: 'b' }, values: [[`${t + 2}000000`, 'y']] },
      ],
    });
  });
  it('cloud: system lines with the unit in front, stderr for err and worse, ms timestamps, 10,000-char cap, small writes', () => {
    assert.deepEqual(cloudLine(l('balena.service', 'hi', 3, 5)), { message: 'balena.service: hi', timestamp: Date.UTC(2026, 0, 1) + 5, isSystem: true, isStdErr: true });
    assert.equal(cloudLine(l('u', 'x'.repeat(20_000))).message.length, MAX_MESSAGE_CHARS);
    assert.ok(cloudLine(l('u', 'x'.repeat(20_000))).message.endsWith('[...]'));
    const pieces = cloudPieces(Array.from({ length: CLOUD_BATCH }, (_, i) => l('u', `m${i}`)));
    assert.equal(pieces.length, 4);
    assert.ok(CLOUD_BATCH < 50, 'a request never carries more than the server buffers');
    assert.equal(pieces.join('').split('\n').filter(Boolean).length, CLOUD_BATCH);
  });
  it('credentials in a sink URL become basic auth and never reach the label', () => {
    const t = sinkTarget('https://user:p%40ss@logs.example:8443/in?x=1');
    assert.equal(t.label, 'https://logs.example:8443/in?x=1');
    assert.equal(t.headers.authorization, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    assert.equal(t.path, '/in?x=1');
    assert.equal(sinkTarget('http://h:3100', '/loki/api/v1/push').path, '/loki/api/v1/push');
  });
});

describe('sink failure steps', () => {
  const backoff = { baseMs: 1000, maxMs: 60_000, random: () => 0.5 };
  const err = (status: number | undefined, retryAfterMs?: number) => new SinkError('x', status, retryAfterMs);
  it('400 splits the batch until one line is left, which is dropped (poison)', () => {
    assert.deepEqual(nextStep(err(400), 100, 0, backoff), { kind: 'shrink', size: 50 });
    assert.deepEqual(nextStep(err(400), 3, 0, backoff), { kind: 'shrink', size: 2 });
    assert.deepEqual(nextStep(err(400), 1, 0, backoff), { kind: 'drop' });
  });
  it('413 halves; a single line too large is dropped', () => {
    assert.deepEqual(nextStep(err(413), 100, 0, backoff), { kind: 'shrink', size: 50 });
    assert.deepEqual(nextStep(err(413), 1, 0, backoff), { kind: 'drop' });
  });
  it('429 and 5xx honour Retry-After, else back off; 401/403 and network failures never drop', () => {
    assert.deepEqual(nextStep(err(429, 30_000), 100, 0, backoff), { kind: 'retry', afterMs: 30_000 });
    assert.deepEqual(nextStep(err(503), 100, 3, backoff), { kind: 'retry', afterMs: 4000 });
    for (const status of [401, 403, 404, undefined]) assert.equal(nextStep(err(status), 1, 0, backoff).kind, 'retry');
  });
});

describe('log filter', () => {
  it('units with or without .service, a regular expression on the message, both together', () => {
    const f = lineFilter({ logsUnits: ['balena', 'kernel'], logsMatch: 'err|fail' });
    assert.equal(f(l('balena.service', 'an error')), true);
    assert.equal(f(l('balena.service', 'fine')), false);
    assert.equal(f(l('NetworkManager.service', 'fail')), false);
    assert.equal(f(l('kernel', 'usb fail')), true);
    assert.equal(lineFilter({ logsUnits: null, logsMatch: null })(l('x', 'y')), true);
  });
});

describe('journal source', () => {
  const deps = (position: { atUs: number; ids: string[] } | undefined, boot: number | undefined) => ({
    journal: { version: () => Promise.resolve('17.0.0'), journalLogs: function* () {} },
    clock: { now: () => 0, wall: () => 0, sleep: () => Promise.resolve() }, log: { warn: () => undefined, debug: () => undefined },
    position, bootTimeMs: () => boot, filter: () => () => true, store: () => Promise.resolve(),
  });
  it('resumes by time on ≥ 14.7.0 (inclusive, µs), by a bounded count before; a first start reads from the boot', () => {
    assert.equal(sinceArg(1_767_225_600_000_042), '@1767225600.000042');
    assert.deepEqual(new JournalSource(deps({ atUs: 1_767_225_600_000_042, ids: [] }, 5)).request('14.7.0'), { follow: true, format: 'json', since: '@1767225600.000042' });
    assert.deepEqual(new JournalSource(deps({ atUs: 1, ids: [] }, 5)).request('14.6.9'), { follow: true, format: 'json', count: 1000 });
    assert.deepEqual(new JournalSource(deps(undefined, 1_767_225_600_000)).request('15.0.0'), { follow: true, format: 'json', since: '@1767225600.000000' });
    assert.deepEqual(new JournalSource(deps(undefined, undefined)).request('15.0.0'), { follow: true, format: 'json', count: 10_000 });
  });
  it('skips what it already took at the boundary time (by cursor) and takes the rest', async () => {
    const entry = (us: number, cursor: string, msg: string) => JSON.stringify({ __REALTIME_TIMESTAMP: String(us), __CURSOR: cursor, MESSAGE: msg, _SYSTEMD_UNIT: 'a.service' });
    const stored: LogLine[][] = [];
    const src = new JournalSource({
      ...deps({ atUs: 2000, ids: ['c2a'] }, undefined),
      journal: {
        version: () => Promise.resolve('17.0.0'),
        journalLogs: function* () {
          yield entry(1000, 'c1', 'old');
          yield entry(2000, 'c2a', 'taken');
          yield entry(2000, 'c2b', 'same time, not taken');
          yield entry(3000, 'c3', 'new');
          yield entry(1500, 'c4', 'clock stepped back: still new');
        },
      },
      store: (lines) => Promise.resolve(void stored.push(lines)),
    });
    await src.run(new AbortController().signal);
    assert.deepEqual(stored.flat().map((x) => x.message), ['same time, not taken', 'new', 'clock stepped back: still new']);
  });
});
