import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  deviceSchedule,
  formatRollout,
  parseFrom,
  parseRollout,
  parseScheduleWords,
  placeBits,
  waveCount,
  waveLabel,
  waveOf,
  wavePlace,
  waveStart,
} from '../../src/agent/rollout.js';
import { mulberry32 } from '../helpers/random.js';

const TWO_64 = 2n ** 64n;
const HOUR = 3_600_000;

/** The rule of PRODUCT §3, computed here from node:crypto alone: b, then k = floor(b × 100 / (percent × 2^64)) for whole percents. */
function expected(uuid: string, token: string, percent: number): { b: bigint; k: number } {
  const b = createHash('sha256').update(`${uuid}:${token}`).digest().readBigUInt64BE(0);
  return { b, k: Number((b * 100n) / (BigInt(percent) * TWO_64)) };
}

/** 10,000 uuids in crypto.randomUUID's form from a fixed seed: the same set on every run. */
function seededUuids(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  return Array.from({ length: count }, () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(random() * 4)]}${hex(3)}-${hex(12)}`);
}

/** The share (in %) of the uuids in each wave. */
function shares(uuids: readonly string[], token: string, percent: number): number[] {
  const counts = new Array<number>(waveCount(percent)).fill(0);
  for (const uuid of uuids) {
    const k = waveOf(placeBits(uuid, token), percent);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts.map((c) => (c * 100) / uuids.length);
}

describe('rollout waves: the rule against vectors computed independently', () => {
  // Computed with Python's hashlib: int.from_bytes(sha256(f"{uuid}:{token}").digest()[:8], "big").
  const vectors: { uuid: string; token: string; b: bigint; k10: number; k25: number; k33: number; k2_5: number }[] = [
    { uuid: 'b2c1e0e1f8c94f8c9b3d9a8f1c2e3d4f', token: '2026-12-05', b: 0x2cd8c168af5b9d67n, k10: 1, k25: 0, k33: 0, k2_5: 7 },
    { uuid: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', token: '2026-12-05', b: 0xb7e177173be8d003n, k10: 7, k25: 2, k33: 2, k2_5: 28 },
    { uuid: 'b2c1e0e1f8c94f8c9b3d9a8f1c2e3d4f', token: 'ticket-42', b: 0x7a2909e70c0f01f1n, k10: 4, k25: 1, k33: 1, k2_5: 19 },
    { uuid: '9b2f3c1a-4d5e-4f60-8a7b-1c2d3e4f5a6b', token: '2026-12-05', b: 0x50857a50cd9fdef5n, k10: 3, k25: 1, k33: 0, k2_5: 12 },
  ];
  for (const v of vectors) {
    it(`${v.uuid.slice(0, 8)}… with token ${v.token}: place, and waves at 10 %, 25 %, 33 % and 2.5 %`, () => {
      assert.equal(placeBits(v.uuid, v.token), v.b);
      assert.equal(expected(v.uuid, v.token, 10).b, v.b, 'the test\'s own node:crypto computation agrees with hashlib');
      assert.deepEqual([10, 25, 33, 2.5].map((p) => waveOf(placeBits(v.uuid, v.token), p)), [v.k10, v.k25, v.k33, v.k2_5]);
    });
  }

  it('1,000 seeded uuids × 3 tokens × every whole percent that divides 100 or not: waveOf = floor(b × 100 / (percent × 2^64))', () => {
    const uuids = seededUuids(1_000, 7);
    let checked = 0;
    for (const token of ['2026-12-05', 'T-1', 'reboot:night']) {
      for (const uuid of uuids) {
        for (const percent of [1, 3, 7, 10, 25, 33, 50, 99, 100]) {
          const { k } = expected(uuid, token, percent);
          assert.equal(waveOf(placeBits(uuid, token), percent), k, `${uuid} ${token} ${percent} %`);
          assert.equal(deviceSchedule(uuid, token, { percent, periodMs: HOUR }, 0).wave, k);
          checked += 1;
        }
      }
    }
    assert.equal(checked, 27_000);
  });

  it('wavePlace is b / 2^64 cut to 53 bits: in [0, 1), within 2^-53 of the exact place', () => {
    for (const uuid of seededUuids(200, 11)) {
      const { b } = expected(uuid, 'p', 10);
      const place = wavePlace(uuid, 'p');
      assert.equal(place, Number(b >> 11n) / 2 ** 53);
      assert.ok(place >= 0 && place < 1);
      assert.ok(Math.abs(place - Number(b) / 2 ** 64) <= 2 ** -53);
    }
  });

  it('the deviceSchedule of a vector: wave, count and start t0 + k × period', () => {
    const t0 = Date.parse('2026-12-05T08:00:00Z');
    assert.deepEqual(deviceSchedule('0f1e2d3c4b5a69788796a5b4c3d2e1f0', '2026-12-05', { percent: 10, periodMs: HOUR }, t0), {
      wave: 7, of: 10, startMs: Date.parse('2026-12-05T15:00:00Z'),
    });
    assert.equal(waveLabel({ wave: 7, of: 10 }), 'wave 8/10');
  });
});

describe('rollout waves: exact arithmetic at the boundaries', () => {
  const counts: [number, number][] = [[10, 10], [25, 4], [33, 4], [30, 4], [100, 1], [99.99, 2], [7, 15], [2.5, 40], [0.25, 400], [0.01, 10_000]];
  for (const [percent, n] of counts) it(`waveCount(${percent}) = ${n}`, () => assert.equal(waveCount(percent), n));

  it('a place exactly on a boundary starts the next wave; one below stays in the one before', () => {
    assert.equal(waveOf(2n ** 62n - 1n, 25), 0);
    assert.equal(waveOf(2n ** 62n, 25), 1);
    assert.equal(waveOf(2n ** 63n, 50), 1);
    assert.equal(waveOf(2n ** 63n - 1n, 50), 0);
    // 33 %: the boundary of wave 3 (0-based) is ceil(99/100 × 2^64).
    const third = (99n * TWO_64 + 99n) / 100n;
    assert.equal(waveOf(third - 1n, 33), 2);
    assert.equal(waveOf(third, 33), 3);
    // 2.5 %: wave 1 starts at ceil(2^64 / 40).
    const first = (TWO_64 + 39n) / 40n;
    assert.deepEqual([waveOf(first - 1n, 2.5), waveOf(first, 2.5)], [0, 1]);
  });

  it('the very last place is in the last wave, and never beyond it (33 % → wave 4 of 4, the 1 % one)', () => {
    for (const [percent, n] of counts) assert.equal(waveOf(TWO_64 - 1n, percent), n - 1, `${percent} %`);
    assert.equal(waveOf(0n, 33), 0);
  });

  it('a number place is taken at its exact value, not through rounded float arithmetic', () => {
    // 0.3 is stored as 0.29999999999999998…: wave 2 at 10 % (0.3 * 100 / 10 in floats gives 3.0000000000000004).
    assert.equal(waveOf(0.3, 10), 2);
    // 0.7 is 0.69999999999999995…; 0.1 is 0.1000000000000000055…
    assert.equal(waveOf(0.7, 10), 6);
    assert.equal(waveOf(0.1, 10), 1);
    assert.equal(waveOf(0.5, 50), 1);
    assert.equal(waveOf(Number.MIN_VALUE, 0.01), 0);
    assert.equal(waveOf(1 - 2 ** -53, 33), 3);
  });

  it('refuses places outside [0, 1) / [0, 2^64) and percents outside (0, 100] or with more than two decimals', () => {
    for (const place of [1, -0.1, Number.NaN, -1n, TWO_64]) assert.throws(() => waveOf(place, 10), RangeError, String(place));
    for (const percent of [0, -5, 100.01, 101, 2.555, 0.001, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => waveCount(percent), RangeError, String(percent));
      assert.throws(() => waveOf(0n, percent), RangeError, String(percent));
    }
  });

  it('waveStart = t0 + k × period', () => {
    const rows: [number, number, number, number][] = [[0, 0, HOUR, 0], [1_000, 3, HOUR, 1_000 + 3 * HOUR], [Date.parse('2026-12-05T00:00Z'), 9, 600_000, Date.parse('2026-12-05T01:30Z')]];
    for (const [t0, k, period, start] of rows) assert.equal(waveStart(t0, k, period), start);
  });
});

describe('rollout waves: uniform over uuids, different per token', () => {
  const uuids = seededUuids(10_000, 20261205);
  // Exact share of each wave over all 2^64 places: percent each, the last one the remainder.
  const exactShares = (percent: number): number[] => {
    const n = waveCount(percent);
    return Array.from({ length: n }, (_, k) => (k < n - 1 ? percent : 100 - percent * (n - 1)));
  };
  const cases: [number, number[]][] = [[10, exactShares(10)], [25, [25, 25, 25, 25]], [33, [33, 33, 33, 1]]];
  for (const [percent, want] of cases) {
    it(`${percent} % waves over 10,000 uuids (fixed seed): ${want.length} waves holding ${want.join(', ')} % ± 1 %`, (t) => {
      const got = shares(uuids, '2026-12-05', percent);
      t.diagnostic(`shares: ${got.map((s) => s.toFixed(2)).join(' ')}`);
      assert.equal(got.length, want.length);
      got.forEach((share, k) => assert.ok(Math.abs(share - (want[k] ?? 0)) <= 1, `wave ${k + 1} holds ${share} %, expected ${want[k]} % ± 1 %`));
    });
    it(`${percent} % waves over 10,000 crypto.randomUUID uuids: each wave within 5 standard deviations of ${want.join(', ')} %`, (t) => {
      const fresh = Array.from({ length: 10_000 }, () => randomUUID());
      const got = shares(fresh, `token-${randomUUID().slice(0, 8)}`, percent);
      t.diagnostic(`shares: ${got.map((s) => s.toFixed(2)).join(' ')}`);
      got.forEach((share, k) => {
        const p = (want[k] ?? 0) / 100;
        const bound = 5 * 100 * Math.sqrt((p * (1 - p)) / fresh.length);
        assert.ok(Math.abs(share - (want[k] ?? 0)) <= bound, `wave ${k + 1} holds ${share} %, expected ${want[k]} % ± ${bound.toFixed(2)} %`);
      });
    });
  }

  it('another token gives another order: places barely correlate, and the first wave of one token is spread over every wave of the other', () => {
    const a = uuids.map((u) => wavePlace(u, '2026-12-05'));
    const b = uuids.map((u) => wavePlace(u, '2026-12-06'));
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    const [ma, mb] = [mean(a), mean(b)];
    const cov = mean(a.map((x, i) => (x - ma) * ((b[i] ?? 0) - mb)));
    const sd = (xs: number[], m: number): number => Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
    const r = cov / (sd(a, ma) * sd(b, mb));
    assert.ok(Math.abs(r) < 0.05, `correlation ${r}`);
    const firstA = uuids.filter((u) => waveOf(placeBits(u, '2026-12-05'), 10) === 0);
    const wavesUnderB = new Set(firstA.map((u) => waveOf(placeBits(u, '2026-12-06'), 10)));
    assert.equal(wavesUnderB.size, 10, 'the first wave of one token lands in all ten waves of the other');
    const stillFirst = firstA.filter((u) => waveOf(placeBits(u, '2026-12-06'), 10) === 0).length / firstA.length;
    assert.ok(stillFirst < 0.15, `${(stillFirst * 100).toFixed(1)} % of the first wave is first again`);
  });

  it('no device is first for every token: the earliest device differs across 5 tokens', () => {
    const some = uuids.slice(0, 200);
    const earliest = ['a', 'b', 'c', 'd', 'e'].map((token) => some.reduce((best, u) => (placeBits(u, token) < placeBits(best, token) ? u : best)));
    assert.ok(new Set(earliest).size >= 4, `earliest devices: ${earliest.join(', ')}`);
  });
});

describe('parseRollout', () => {
  const good: [string, number, number, string][] = [
    ['rollout=10%/1h', 10, HOUR, '10%/1h'],
    ['rollout=100%/30s', 100, 30_000, '100%/30s'],
    ['rollout=2.5%/10m', 2.5, 600_000, '2.5%/10m'],
    ['rollout=0.01%/1d', 0.01, 86_400_000, '0.01%/1d'],
    ['rollout=33%/1h30m', 33, 5_400_000, '33%/1h30m'],
    ['rollout=25%/1.5h', 25, 5_400_000, '25%/1h30m'],
    ['rollout=50%/1s', 50, 1_000, '50%/1s'],
    ['rollout=10%/24d', 10, 24 * 86_400_000, '10%/24d'],
  ];
  for (const [word, percent, periodMs, text] of good) {
    it(`reads ${word}`, () => {
      assert.deepEqual(parseRollout(word), { ok: true, value: { percent, periodMs } });
      assert.equal(formatRollout({ percent, periodMs }), text);
    });
  }
  const bad: [string, string][] = [
    ['rollout=0%/1h', 'rollout=0%/1h: the percent must be between 0 (excluded) and 100'],
    ['rollout=0.00%/1h', 'rollout=0.00%/1h: the percent must be between 0 (excluded) and 100'],
    ['rollout=101%/1h', 'rollout=101%/1h: the percent must be between 0 (excluded) and 100'],
    ['rollout=2.555%/1h', 'rollout=2.555%/1h: the percent may have at most two decimals (e.g. 2.5%)'],
    ['rollout=-5%/1h', 'rollout=-5%/1h: the percent must be a number, expected <percent>%/<period>, e.g. rollout=10%/1h'],
    ['rollout=ten%/1h', 'rollout=ten%/1h: the percent must be a number, expected <percent>%/<period>, e.g. rollout=10%/1h'],
    ['rollout=10/1h', 'rollout=10/1h: expected <percent>%/<period>, e.g. rollout=10%/1h'],
    ['rollout=10%', 'rollout=10%: expected <percent>%/<period>, e.g. rollout=10%/1h'],
    ['rollout=', 'rollout=: expected <percent>%/<period>, e.g. rollout=10%/1h'],
    ['rollout=10%/', 'rollout=10%/: missing period, expected <percent>%/<period>, e.g. rollout=10%/1h'],
    ['rollout=10%/60', 'rollout=10%/60: the period needs a unit: 60s, 60m, 60h or 60d'],
    ['rollout=10%/5w', 'rollout=10%/5w: the period must be a duration like 90s, 5m, 2h, 1d or 1h30m'],
    ['rollout=10%/500ms', 'rollout=10%/500ms: the period must be at least 1s'],
    ['rollout=10%/0s', 'rollout=10%/0s: the period must be at least 1s'],
    ['rollout=10%/25d', 'rollout=10%/25d: the period must be at most 24d'],
    ['from=10%/1h', 'from=10%/1h: not a rollout= word'],
  ];
  for (const [word, reason] of bad) {
    it(`refuses ${word}: ${reason.slice(word.length + 2)}`, () => assert.deepEqual(parseRollout(word), { ok: false, reason }));
  }
});

describe('parseFrom', () => {
  const good: [string, string][] = [
    ['from=2026-12-05T08:00Z', '2026-12-05T08:00:00.000Z'],
    ['from=2026-12-05T08:00:30Z', '2026-12-05T08:00:30.000Z'],
    ['from=2026-12-05T08:00:30.5Z', '2026-12-05T08:00:30.500Z'],
    ['from=2026-12-05T08:00:30.123456789Z', '2026-12-05T08:00:30.123Z'],
    ['from=2026-12-05T08:00+00:00', '2026-12-05T08:00:00.000Z'],
    ['from=2026-12-05t08:00z', '2026-12-05T08:00:00.000Z'],
    ['from=2028-02-29T23:59:59Z', '2028-02-29T23:59:59.000Z'],
    ['from=2020-01-01T00:00Z', '2020-01-01T00:00:00.000Z'],
  ];
  for (const [word, iso] of good) {
    it(`reads ${word} as ${iso}`, () => assert.deepEqual(parseFrom(word), { ok: true, value: Date.parse(iso) }));
  }
  const bad: [string, string][] = [
    ['from=2026-12-05', 'from=2026-12-05: a date alone is not a time; give the UTC time too, e.g. 2026-12-05T00:00Z'],
    ['from=2026-12-05T08:00', 'from=2026-12-05T08:00: must be UTC: end the time in Z or +00:00'],
    ['from=2026-12-05T08:00+01:00', 'from=2026-12-05T08:00+01:00: must be UTC: end the time in Z or +00:00, not +01:00'],
    ['from=2026-12-05T08:00-00:00', 'from=2026-12-05T08:00-00:00: must be UTC: end the time in Z or +00:00, not -00:00'],
    ['from=2026-12-05T08:00+0000', 'from=2026-12-05T08:00+0000: must be UTC: end the time in Z or +00:00, not +0000'],
    ['from=2026-02-30T08:00Z', 'from=2026-02-30T08:00Z: not a real calendar time (month 01–12, day within the month, hour 00–23, minute and second 00–59)'],
    ['from=2026-13-01T08:00Z', 'from=2026-13-01T08:00Z: not a real calendar time (month 01–12, day within the month, hour 00–23, minute and second 00–59)'],
    ['from=2026-12-05T24:00Z', 'from=2026-12-05T24:00Z: not a real calendar time (month 01–12, day within the month, hour 00–23, minute and second 00–59)'],
    ['from=2026-12-31T23:59:60Z', 'from=2026-12-31T23:59:60Z: not a real calendar time (month 01–12, day within the month, hour 00–23, minute and second 00–59)'],
    ['from=0099-12-05T08:00Z', 'from=0099-12-05T08:00Z: the year must be 1970 or later'],
    ['from=tomorrow', 'from=tomorrow: expected a UTC time like 2026-12-05T08:00Z'],
    ['from=1764921600', 'from=1764921600: expected a UTC time like 2026-12-05T08:00Z'],
    ['from=2026-12-5T8:00Z', 'from=2026-12-5T8:00Z: expected a UTC time like 2026-12-05T08:00Z'],
    ['from=', 'from=: expected a UTC time like 2026-12-05T08:00Z'],
    ['rollout=2026-12-05T08:00Z', 'rollout=2026-12-05T08:00Z: not a from= word'],
  ];
  for (const [word, reason] of bad) {
    it(`refuses ${word}: ${reason.slice(word.length + 2)}`, () => assert.deepEqual(parseFrom(word), { ok: false, reason }));
  }
});

describe('parseScheduleWords', () => {
  it('takes rollout= and from= out, in any order, and leaves the command\'s own words in order', () => {
    assert.deepEqual(parseScheduleWords(['from=2026-12-05T08:00Z', 'force', 'rollout=10%/1h', 'now']), {
      ok: true, value: { rollout: { percent: 10, periodMs: HOUR }, fromMs: Date.parse('2026-12-05T08:00Z'), rest: ['force', 'now'] },
    });
    assert.deepEqual(parseScheduleWords(['force']), { ok: true, value: { rollout: null, fromMs: null, rest: ['force'] } });
    assert.deepEqual(parseScheduleWords([]), { ok: true, value: { rollout: null, fromMs: null, rest: [] } });
  });
  const bad: [string[], string][] = [
    [['rollout=10%/1h', 'rollout=20%/1h'], 'rollout=20%/1h: rollout= given twice'],
    [['from=2026-12-05T08:00Z', 'from=2026-12-06T08:00Z'], 'from=2026-12-06T08:00Z: from= given twice'],
    [['wave=3'], 'wave=3: unknown word; a fleet command takes rollout=<percent>%/<period> and from=<UTC time>'],
    [['force', 'rollout=0%/1h'], 'rollout=0%/1h: the percent must be between 0 (excluded) and 100'],
    [['from=2026-12-05'], 'from=2026-12-05: a date alone is not a time; give the UTC time too, e.g. 2026-12-05T00:00Z'],
  ];
  for (const [words, reason] of bad) {
    it(`refuses ${words.join(' ')}`, () => assert.deepEqual(parseScheduleWords(words), { ok: false, reason }));
  }
});
