import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cron } from 'croner';
import { rebootSchedule, slots, spreadOffset } from '../../src/agent/behaviours/reboot-schedule.js';
import type { AckState } from '../../src/agent/acks.js';
import type { JournalEntry } from '../../src/agent/journal.js';
import type { Snapshot } from '../../src/agent/snapshot.js';
import { entry, snap, testConfig } from '../helpers/agent-fixtures.js';
import { mulberry32 } from '../helpers/random.js';

const SECOND = 1000;
const MIN = 60 * SECOND;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const BERLIN = 'Europe/Berlin';
const at = (iso: string): number => Date.parse(iso);
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** The fixtures' uuid (snap()); its offsets below were computed outside the agent (Python hashlib). */
const UUID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const OFFSET_30M = 1_794_007;

describe('spreadOffset()', () => {
  const table: { uuid: string; spread: number; want: number }[] = [
    { uuid: UUID, spread: 30 * MIN, want: OFFSET_30M },
    { uuid: UUID, spread: DAY, want: 86_112_361 },
    { uuid: '0123456789abcdef0123456789abcdef', spread: 30 * MIN, want: 440_819 },
    { uuid: UUID, spread: 1, want: 0 },
    { uuid: UUID, spread: 0, want: 0 },
  ];
  for (const row of table) {
    it(`${row.uuid.slice(0, 8)}… over ${row.spread} ms is ${row.want}`, () => assert.equal(spreadOffset(row.uuid, row.spread), row.want));
  }

  it('is stable for a uuid and lies in [0, spread)', () => {
    for (const spread of [1, 2, 999, 30 * MIN, DAY]) {
      const first = spreadOffset(UUID, spread);
      assert.equal(spreadOffset(UUID, spread), first);
      assert.ok(Number.isInteger(first) && first >= 0 && first < spread, `${first} for ${spread}`);
    }
  });

  it('spreads 10,000 uuids evenly: each tenth of the spread holds 10 % ± 1 %', (t) => {
    const random = mulberry32(20261203);
    const hex = () => Math.floor(random() * 16).toString(16);
    const spread = 30 * MIN;
    const buckets = new Array<number>(10).fill(0);
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const uuid = Array.from({ length: 32 }, hex).join('');
      const offset = spreadOffset(uuid, spread);
      assert.ok(offset >= 0 && offset < spread);
      const b = Math.floor((offset * 10) / spread);
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    const shares = buckets.map((count) => (count * 100) / n);
    t.diagnostic(`bucket shares: min ${Math.min(...shares).toFixed(2)} %, max ${Math.max(...shares).toFixed(2)} %`);
    for (const [i, share] of shares.entries()) assert.ok(share >= 9 && share <= 11, `tenth ${i} holds ${share} %`);
  });
});

describe('slots(): the slots around a moment, in Europe/Berlin (and New York for the other side of UTC)', () => {
  const table: { name: string; pattern: string; wall: string; offset?: number; last: string | null; next: string | null }[] = [
    // An ordinary night: 03:00 CET is 02:00 UTC.
    { name: 'ordinary night, at the slot', pattern: '0 3 * * *', wall: '2026-01-15T02:00:00.000Z', last: '2026-01-15T02:00:00.000Z', next: '2026-01-16T02:00:00.000Z' },
    { name: 'ordinary night, 1 ms before the slot', pattern: '0 3 * * *', wall: '2026-01-15T01:59:59.999Z', last: '2026-01-14T02:00:00.000Z', next: '2026-01-15T02:00:00.000Z' },
    { name: 'offset: 1 ms before slot + offset', pattern: '0 3 * * *', wall: '2026-01-15T02:16:59.999Z', offset: 17 * MIN, last: '2026-01-14T02:00:00.000Z', next: '2026-01-15T02:00:00.000Z' },
    { name: 'offset: at slot + offset (slots are not shifted)', pattern: '0 3 * * *', wall: '2026-01-15T02:17:00.000Z', offset: 17 * MIN, last: '2026-01-15T02:00:00.000Z', next: '2026-01-16T02:00:00.000Z' },
    // 2026-03-29: 02:00 CET → 03:00 CEST at 01:00 UTC. 02:30 does not exist; croner runs it at 03:30 CEST.
    { name: 'spring: the day before', pattern: '30 2 * * *', wall: '2026-03-29T01:29:59.999Z', last: '2026-03-28T01:30:00.000Z', next: '2026-03-29T01:30:00.000Z' },
    { name: 'spring: inside the shifted hour (croner asked from here skips the slot)', pattern: '30 2 * * *', wall: '2026-03-29T01:10:00.000Z', last: '2026-03-28T01:30:00.000Z', next: '2026-03-29T01:30:00.000Z' },
    { name: 'spring: the skipped 02:30 is 03:30 CEST, once', pattern: '30 2 * * *', wall: '2026-03-29T01:30:00.000Z', last: '2026-03-29T01:30:00.000Z', next: '2026-03-30T00:30:00.000Z' },
    { name: 'spring: 03:00 is the change itself', pattern: '0 3 * * *', wall: '2026-03-29T01:00:00.000Z', last: '2026-03-29T01:00:00.000Z', next: '2026-03-30T01:00:00.000Z' },
    { name: 'spring: */15 straight through the change', pattern: '*/15 * * * *', wall: '2026-03-29T01:07:00.000Z', last: '2026-03-29T01:00:00.000Z', next: '2026-03-29T01:15:00.000Z' },
    // 2026-10-25: 03:00 CEST → 02:00 CET at 01:00 UTC. 02:00–03:00 happens twice; croner takes the second.
    { name: 'autumn: at the first 02:30 (CEST) nothing is due', pattern: '30 2 * * *', wall: '2026-10-25T00:30:00.000Z', last: '2026-10-24T00:30:00.000Z', next: '2026-10-25T01:30:00.000Z' },
    { name: 'autumn: between the two 02:30s (croner asked from here skips the night)', pattern: '30 2 * * *', wall: '2026-10-25T00:45:00.000Z', last: '2026-10-24T00:30:00.000Z', next: '2026-10-25T01:30:00.000Z' },
    { name: 'autumn: the second 02:30 (CET) is the slot', pattern: '30 2 * * *', wall: '2026-10-25T01:30:00.000Z', last: '2026-10-25T01:30:00.000Z', next: '2026-10-26T01:30:00.000Z' },
    { name: 'autumn: 03:00 CET', pattern: '0 3 * * *', wall: '2026-10-25T01:59:00.000Z', last: '2026-10-24T01:00:00.000Z', next: '2026-10-25T02:00:00.000Z' },
    { name: 'autumn: */15 has no slot in the first pass of 02:xx', pattern: '*/15 * * * *', wall: '2026-10-25T00:07:00.000Z', last: '2026-10-24T23:45:00.000Z', next: '2026-10-25T01:00:00.000Z' },
    { name: 'autumn: */5 just after the change (croner asked from the first pass skips 02:00 CET)', pattern: '*/5 * * * *', wall: '2026-10-25T01:00:58.000Z', last: '2026-10-25T01:00:00.000Z', next: '2026-10-25T01:05:00.000Z' },
    { name: '*/15 on an ordinary day', pattern: '*/15 * * * *', wall: '2026-01-15T10:07:00.000Z', last: '2026-01-15T10:00:00.000Z', next: '2026-01-15T10:15:00.000Z' },
    { name: 'weekly across the spring change', pattern: '0 4 * * 1', wall: '2026-03-29T12:00:00.000Z', last: '2026-03-23T03:00:00.000Z', next: '2026-03-30T02:00:00.000Z' },
    { name: 'weekly across the autumn change', pattern: '0 4 * * 1', wall: '2026-10-25T12:00:00.000Z', last: '2026-10-19T02:00:00.000Z', next: '2026-10-26T03:00:00.000Z' },
    { name: 'yearly (the 400-day window)', pattern: '0 3 1 1 *', wall: '2026-06-15T12:00:00.000Z', last: '2026-01-01T02:00:00.000Z', next: '2027-01-01T02:00:00.000Z' },
    { name: 'a slot more than 400 days back is not looked for', pattern: '0 3 29 2 *', wall: '2026-06-01T00:00:00.000Z', last: null, next: '2028-02-29T02:00:00.000Z' },
    { name: 'a pattern that never matches', pattern: '0 0 30 2 *', wall: '2026-06-01T00:00:00.000Z', last: null, next: null },
  ];
  for (const row of table) {
    it(`${row.name}: ${row.pattern} at ${row.wall}`, () => {
      const got = slots(row.pattern, BERLIN, row.offset ?? 0, at(row.wall));
      assert.deepEqual({ last: iso(got.last), next: iso(got.next) }, { last: row.last, next: row.next });
    });
  }

  // Every slot of each DST night, written out by hand; at every moment around the night, slots()
  // must name the neighbours from this list: one slot per day, none twice, none missing.
  const nights: { name: string; zone?: string; pattern: string; change: string; list: string[] }[] = [
    { name: 'spring, 30 2', pattern: '30 2 * * *', change: '2026-03-29T01:00Z', list: ['2026-03-28T01:30Z', '2026-03-29T01:30Z', '2026-03-30T00:30Z'] },
    { name: 'autumn, 30 2', pattern: '30 2 * * *', change: '2026-10-25T01:00Z', list: ['2026-10-24T00:30Z', '2026-10-25T01:30Z', '2026-10-26T01:30Z'] },
    { name: 'spring, 0 3', pattern: '0 3 * * *', change: '2026-03-29T01:00Z', list: ['2026-03-28T02:00Z', '2026-03-29T01:00Z', '2026-03-30T01:00Z'] },
    { name: 'autumn, 0 3', pattern: '0 3 * * *', change: '2026-10-25T01:00Z', list: ['2026-10-24T01:00Z', '2026-10-25T02:00Z', '2026-10-26T02:00Z'] },
    { name: 'spring, */15', pattern: '*/15 * * * *', change: '2026-03-29T01:00Z', list: quarters('2026-03-28T19:00Z', '2026-03-29T07:00Z', () => false) },
    {
      name: 'autumn, */15', pattern: '*/15 * * * *', change: '2026-10-25T01:00Z',
      list: quarters('2026-10-24T19:00Z', '2026-10-25T07:00Z', (t) => t >= at('2026-10-25T00:00Z') && t < at('2026-10-25T01:00Z')),
    },
    // West of UTC croner takes the first of a repeated time (2026-11-01: 02:00 EDT → 01:00 EST at 06:00 UTC).
    { name: 'New York autumn, 30 1', zone: 'America/New_York', pattern: '30 1 * * *', change: '2026-11-01T06:00Z', list: ['2026-10-31T05:30Z', '2026-11-01T05:30Z', '2026-11-02T06:30Z'] },
    {
      name: 'New York autumn, */15', zone: 'America/New_York', pattern: '*/15 * * * *', change: '2026-11-01T06:00Z',
      list: quarters('2026-11-01T00:00Z', '2026-11-01T12:00Z', (t) => t >= at('2026-11-01T06:00Z') && t < at('2026-11-01T07:00Z')),
    },
  ];
  for (const night of nights) {
    it(`${night.name}: the listed slots and only them, at every moment around the change`, () => {
      const list = night.list.map(at);
      const change = at(night.change);
      // From past the first slot (plus the largest offset) to before the last: both neighbours are listed.
      const from = list[0]! + 30 * MIN;
      const to = list.at(-1)! - 1;
      for (const offset of [0, 29 * MIN + 7]) {
        const moments = new Set<number>();
        for (let t = from; t <= to; t += 41 * MIN + 3) moments.add(t);
        for (let t = change - 2 * HOUR; t <= change + 2 * HOUR; t += 4 * MIN + 1) moments.add(t);
        for (const s of list) for (const d of [-1, 0, 1]) moments.add(s + offset + d);
        for (const t of moments) {
          if (t < from || t > to) continue;
          const last = list.filter((s) => s + offset <= t).at(-1) ?? null;
          const next = list.find((s) => s + offset > t) ?? null;
          const got = slots(night.pattern, night.zone ?? BERLIN, offset, t);
          assert.deepEqual({ last: iso(got.last), next: iso(got.next) }, { last: iso(last), next: iso(next) }, `at ${iso(t)}, offset ${offset}`);
        }
      }
    });
  }

  const cost: { name: string; pattern: string; wall: string; most: number }[] = [
    { name: 'every minute', pattern: '* * * * *', wall: '2026-01-15T10:07:30.000Z', most: 4 },
    { name: 'every quarter hour', pattern: '*/15 * * * *', wall: '2026-01-15T10:07:00.000Z', most: 12 },
    { name: 'daily', pattern: '0 3 * * *', wall: '2026-01-15T10:00:00.000Z', most: 6 },
    { name: 'weekly', pattern: '0 4 * * 1', wall: '2026-01-15T10:00:00.000Z', most: 12 },
    { name: 'yearly', pattern: '0 3 1 1 *', wall: '2026-06-15T10:00:00.000Z', most: 10 },
    { name: '1,320 slots in the day window', pattern: '* 0-21 * * *', wall: '2026-01-15T22:59:00.000Z', most: 50 },
    { name: 'every minute, inside the spring change', pattern: '* * * * *', wall: '2026-03-29T01:20:30.000Z', most: 250 },
  ];
  for (const row of cost) {
    it(`asks croner a bounded number of times: ${row.name} (${row.pattern}) at most ${row.most}`, (t) => {
      const nextRun = t.mock.method(Cron.prototype, 'nextRun');
      slots(row.pattern, BERLIN, 0, at(row.wall));
      t.diagnostic(`${row.pattern}: ${nextRun.mock.callCount()} nextRun calls`);
      assert.ok(nextRun.mock.callCount() <= row.most, `${nextRun.mock.callCount()} calls`);
    });
  }
});

/** Every quarter hour in [from, to) except those `skip` names. */
function quarters(from: string, to: string, skip: (t: number) => boolean): string[] {
  const out: string[] = [];
  for (let t = at(from); t < at(to); t += 15 * MIN) if (!skip(t)) out.push(new Date(t).toISOString());
  return out;
}

const PATTERN = '0 3 * * *';
/** The slot of 2026-01-15, 03:00 CET, and its key. */
const SLOT = at('2026-01-15T02:00Z');
const KEY = 'reboot-schedule@2026-01-15T02:00Z';
const YESTERDAY = 'reboot-schedule@2026-01-14T02:00Z';
const SETTLED = { pattern: PATTERN, zone: BERLIN, since: at('2026-01-01T00:00Z') };

function look(o: { wall: number; spread?: number; pattern?: string | null; zone?: string; journal?: JournalEntry[]; state?: unknown; uuid?: string; inProgress?: string[] }): Snapshot {
  return snap({
    wall: o.wall,
    config: testConfig({ rebootSchedule: o.pattern === undefined ? PATTERN : o.pattern, scheduleSpreadMs: o.spread ?? 0, timeZone: o.zone ?? BERLIN }),
    journal: o.journal ?? [],
    state: o.state === undefined ? { 'reboot-schedule': SETTLED } : { 'reboot-schedule': o.state },
    uuid: o.uuid ?? UUID,
    inProgress: new Set(o.inProgress ?? []),
  });
}

const run = (key: string) => ({ proposals: [{ intent: { key, origin: 'reboot-schedule', command: 'reboot', args: { services: [] }, force: false } }] });
const refused = (key: string, refuse: string) => ({ proposals: [{ intent: { key, origin: 'reboot-schedule', command: 'reboot', args: { services: [] }, force: false }, refuse }] });
const scheduled = (token: string, state: AckState = 'done') => entry({ command: 'reboot', token, origin: 'reboot-schedule', state });

describe('rebootSchedule.decide(): when a slot runs', () => {
  const due30 = SLOT + OFFSET_30M;
  const table: { name: string; wall: number; spread?: number; journal?: JournalEntry[]; want: unknown }[] = [
    { name: 'due exactly now', wall: SLOT, want: run(KEY) },
    { name: '1 ms before due (the slot before ran)', wall: SLOT - 1, journal: [scheduled(YESTERDAY)], want: { proposals: [] } },
    { name: 'a tick a few seconds late, no spread', wall: SLOT + 3 * SECOND, want: run(KEY) },
    { name: '1 ms inside the 5 min tolerance, no spread', wall: SLOT + 5 * MIN - 1, want: run(KEY) },
    { name: 'at the 5 min tolerance, no spread: missed', wall: SLOT + 5 * MIN, want: refused(KEY, 'missed: due 2026-01-15T02:00:00.000Z, 5 min late (more than the spread); skipped') },
    { name: 'three hours late: missed', wall: SLOT + 3 * HOUR + 30 * SECOND, want: refused(KEY, 'missed: due 2026-01-15T02:00:00.000Z, 180 min late (more than the spread); skipped') },
    { name: 'spread 30m: due at slot + offset', wall: due30, spread: 30 * MIN, want: run(KEY) },
    { name: 'spread 30m: 1 ms before slot + offset (the slot before ran)', wall: due30 - 1, spread: 30 * MIN, journal: [scheduled(YESTERDAY)], want: { proposals: [] } },
    { name: 'spread 30m: 10 min late still runs (the tolerance is the spread)', wall: due30 + 10 * MIN, spread: 30 * MIN, want: run(KEY) },
    { name: 'spread 30m: 1 ms inside the spread', wall: due30 + 30 * MIN - 1, spread: 30 * MIN, want: run(KEY) },
    { name: 'spread 30m: one spread late: missed', wall: due30 + 30 * MIN, spread: 30 * MIN, want: refused(KEY, 'missed: due 2026-01-15T02:29:54.007Z, 30 min late (more than the spread); skipped') },
    { name: 'a slot of another day in the journal does not hold this one', wall: SLOT, journal: [scheduled(YESTERDAY)], want: run(KEY) },
  ];
  for (const row of table) {
    it(row.name, () => {
      const s = look({ wall: row.wall, ...(row.spread === undefined ? {} : { spread: row.spread }), journal: row.journal ?? [] });
      assert.deepEqual(rebootSchedule.decide(s), row.want);
    });
  }

  for (const state of ['done', 'failed', 'deferred', 'rejected', 'accepted', 'running', 'blocked'] as const) {
    it(`a slot already in the journal (${state}) is never proposed again`, () => {
      assert.deepEqual(rebootSchedule.decide(look({ wall: SLOT + MIN, journal: [scheduled(KEY, state)] })), { proposals: [] });
    });
  }
  it('a slot the runner holds is not proposed again', () => {
    assert.deepEqual(rebootSchedule.decide(look({ wall: SLOT + MIN, inProgress: [`reboot ${KEY}`] })), { proposals: [] });
  });

  it('a clock that jumps forward past several slots: only the latest, refused as missed', () => {
    const got = rebootSchedule.decide(look({ wall: SLOT + 3 * DAY + 2 * HOUR, journal: [scheduled(KEY)] }));
    assert.deepEqual(got, refused('reboot-schedule@2026-01-18T02:00Z', 'missed: due 2026-01-18T02:00:00.000Z, 120 min late (more than the spread); skipped'));
  });
  it('a clock that jumps back: the slots it passed are in the journal and never run again', () => {
    const journal = ['2026-01-15T02:00Z', '2026-01-16T02:00Z', '2026-01-17T02:00Z'].map((id) => scheduled(`reboot-schedule@${id}`));
    assert.deepEqual(rebootSchedule.decide(look({ wall: SLOT + MIN, journal })), { proposals: [] });
  });

  for (const night of [
    { name: 'spring', from: '2026-03-28T22:00Z', pattern: '30 2 * * *', want: ['reboot-schedule@2026-03-29T01:30Z'] },
    { name: 'autumn', from: '2026-10-24T22:00Z', pattern: '30 2 * * *', want: ['reboot-schedule@2026-10-25T01:30Z'] },
  ]) {
    it(`ticks every 3 min through the ${night.name} night of ${night.pattern}: one reboot`, () => {
      const journal: JournalEntry[] = [];
      const state = { pattern: night.pattern, zone: BERLIN, since: at(night.from) };
      const proposed: string[] = [];
      for (let wall = at(night.from); wall < at(night.from) + 6 * HOUR; wall += 3 * MIN) {
        const d = rebootSchedule.decide(look({ wall, pattern: night.pattern, journal, state }));
        for (const p of d.proposals) {
          assert.equal(p.refuse, undefined, `${p.intent.key} refused at ${iso(wall)}`);
          proposed.push(p.intent.key);
          journal.push(scheduled(p.intent.key));
        }
      }
      assert.deepEqual(proposed, night.want);
    });
  }
});

describe('rebootSchedule.decide(): the persisted state', () => {
  it('missing: the schedule starts now, and a slot due before is not reported', () => {
    const wall = SLOT + MIN;
    assert.deepEqual(rebootSchedule.decide(look({ wall, state: null })), { proposals: [], state: { pattern: PATTERN, zone: BERLIN, since: wall } });
  });
  it('missing, a slot due exactly now: it runs', () => {
    assert.deepEqual(rebootSchedule.decide(look({ wall: SLOT, state: null })), { ...run(KEY), state: { pattern: PATTERN, zone: BERLIN, since: SLOT } });
  });
  it('unchanged: no new state', () => {
    assert.equal(rebootSchedule.decide(look({ wall: SLOT + HOUR, journal: [scheduled(KEY)] })).state, undefined);
  });
  it('the pattern changed: a new since, and the old slot is not reported', () => {
    const wall = SLOT + HOUR;
    const state = { ...SETTLED, pattern: '0 4 * * *' };
    assert.deepEqual(rebootSchedule.decide(look({ wall, state })), { proposals: [], state: { pattern: PATTERN, zone: BERLIN, since: wall } });
  });
  it('the zone changed: a new since', () => {
    const wall = SLOT + HOUR;
    const state = { ...SETTLED, zone: 'UTC' };
    assert.deepEqual(rebootSchedule.decide(look({ wall, state })), { proposals: [], state: { pattern: PATTERN, zone: BERLIN, since: wall } });
  });
  it('a since ahead of the clock (it was stepped back): the schedule starts again now', () => {
    const wall = SLOT + HOUR;
    const state = { ...SETTLED, since: SLOT + DAY };
    assert.deepEqual(rebootSchedule.decide(look({ wall, state })), { proposals: [], state: { pattern: PATTERN, zone: BERLIN, since: wall } });
  });
  it('a slot due before since is not proposed, one due at or after it is', () => {
    assert.deepEqual(rebootSchedule.decide(look({ wall: SLOT + MIN, state: { ...SETTLED, since: SLOT + 1 } })), { proposals: [] });
    assert.deepEqual(rebootSchedule.decide(look({ wall: SLOT + MIN, state: { ...SETTLED, since: SLOT } })), run(KEY));
  });
  const corrupt: [string, unknown][] = [
    ['a string', 'x'],
    ['an array', [PATTERN, BERLIN, 0]],
    ['a pattern that is no string', { ...SETTLED, pattern: 3 }],
    ['no zone', { pattern: PATTERN, since: SETTLED.since }],
    ['a since that is text', { ...SETTLED, since: '2026-01-01' }],
    ['a since that is not finite', { ...SETTLED, since: Number.NaN }],
  ];
  for (const [name, state] of corrupt) {
    it(`read from disk as ${name}: taken as missing`, () => {
      const wall = SLOT + MIN;
      assert.deepEqual(rebootSchedule.decide(look({ wall, state })), { proposals: [], state: { pattern: PATTERN, zone: BERLIN, since: wall } });
    });
  }
});

describe('rebootSchedule: enabled, next wake, problems', () => {
  it('is enabled with a schedule; without a uuid yet it proposes nothing (and is not switched off: what waits is kept)', () => {
    assert.equal(rebootSchedule.enabled(look({ wall: SLOT })), true);
    assert.equal(rebootSchedule.enabled(look({ wall: SLOT, pattern: null })), false);
    assert.equal(rebootSchedule.enabled(look({ wall: SLOT, uuid: '' })), true);
    assert.deepEqual(rebootSchedule.decide(look({ wall: SLOT, uuid: '' })), { proposals: [] });
    assert.deepEqual(rebootSchedule.decide(look({ wall: SLOT, uuid: '' })), { proposals: [] });
  });
  it('is not a level behaviour', () => assert.equal(rebootSchedule.level, false));
  it('wakes at the next slot plus the offset', () => {
    const wake = (wall: number) => rebootSchedule.nextWakeWall?.(look({ wall, spread: 30 * MIN })) ?? null;
    assert.equal(iso(wake(SLOT + HOUR)), iso(SLOT + DAY + OFFSET_30M));
    assert.equal(iso(wake(SLOT + OFFSET_30M - 1)), iso(SLOT + OFFSET_30M));
    assert.equal(iso(wake(SLOT + OFFSET_30M)), iso(SLOT + DAY + OFFSET_30M));
  });
  it('wakes at the spring slot from inside the shifted hour', () => {
    const s = look({ wall: at('2026-03-29T01:10Z'), pattern: '30 2 * * *' });
    assert.equal(iso(rebootSchedule.nextWakeWall?.(s) ?? null), '2026-03-29T01:30:00.000Z');
  });
  it('no wake without a schedule', () => {
    assert.equal(rebootSchedule.nextWakeWall?.(look({ wall: SLOT, pattern: null })), null);
  });
  it('a zone croner cannot use is a problem, not a crash', () => {
    const s = look({ wall: SLOT, zone: 'Mars/Olympus_Mons' });
    const d = rebootSchedule.decide(s);
    assert.deepEqual(d.proposals, []);
    assert.equal(d.problems?.length, 1);
    assert.match(d.problems?.[0] ?? '', /^reboot schedule "0 3 \* \* \*" in Mars\/Olympus_Mons: /);
    assert.equal(rebootSchedule.nextWakeWall?.(s), null);
  });
});
