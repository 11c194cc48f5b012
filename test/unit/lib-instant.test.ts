import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInstant } from '../../src/lib/instant.js';

describe('parseInstant', () => {
  const good: Array<[string, string, string | undefined]> = [
    ['2026-12-05T08:00Z', '2026-12-05T08:00:00.000Z', 'Z'],
    ['2026-12-05t08:00:30.123456z', '2026-12-05T08:00:30.123Z', 'z'],
    ['2026-12-05T09:00+01:00', '2026-12-05T08:00:00.000Z', '+01:00'],
    ['2026-12-05T03:30-0430', '2026-12-05T08:00:00.000Z', '-0430'],
    ['2026-12-05T08:00', '2026-12-05T08:00:00.000Z', undefined],
    ['2028-02-29T23:59:59Z', '2028-02-29T23:59:59.000Z', 'Z'],
  ];
  for (const [text, iso, zone] of good) {
    it(`reads ${text}`, () => assert.deepEqual(parseInstant(text), { ok: true, value: Date.parse(iso), zone }));
  }
  it('reads the years 0–99 as written (Date.UTC would make them 1900–1999)', () => {
    const read = parseInstant('0099-12-05T08:00Z');
    assert.ok(read.ok);
    assert.equal(new Date(read.value).getUTCFullYear(), 99);
  });
  const bad: Array<[string, 'shape' | 'calendar']> = [
    ['2026-02-30T08:00Z', 'calendar'], // Date.parse rolls it into March
    ['2026-04-31T08:00Z', 'calendar'],
    ['2026-13-01T08:00Z', 'calendar'],
    ['2026-12-05T24:00Z', 'calendar'],
    ['2026-12-31T23:59:60Z', 'calendar'],
    ['2026-12-05T08:00+24:00', 'calendar'],
    ['2026-12-05T08:00+01:60', 'calendar'],
    ['2026-12-05 08:00Z', 'shape'],
    ['2026-12-05', 'shape'],
    ['2026-12-5T8:00Z', 'shape'],
    ['tomorrow', 'shape'],
    ['', 'shape'],
  ];
  for (const [text, reason] of bad) {
    it(`refuses ${JSON.stringify(text)} (${reason})`, () => assert.deepEqual(parseInstant(text), { ok: false, reason }));
  }
});
