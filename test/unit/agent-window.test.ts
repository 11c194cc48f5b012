import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { earliestStart, formatWindows, nextWindow, parseWindows, windowAt, type Opening, type Window } from '../../src/agent/window.js';

const MIN = 60_000;
const at = (iso: string): number => {
  const t = Date.parse(iso);
  assert.ok(!Number.isNaN(t), iso);
  return t;
};
const iso = (t: number | null): string | null => (t === null ? null : `${new Date(t).toISOString().slice(0, 16)}Z`);
const windows = (text: string): readonly Window[] => {
  const w = parseWindows(text);
  assert.ok(w !== null, text);
  return w;
};
/** An opening as [start, end, window indexes] in UTC ISO minutes, or null. */
const shown = (o: Opening | null): [string | null, string | null, readonly number[]] | null => (o === null ? null : [iso(o.start), iso(o.end), o.windows]);

describe('parseWindows: valid', () => {
  // text → the windows as formatWindows writes them back
  const table: [string, string][] = [
    ['Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00', 'Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00'],
    ['mon-fri 2:00-05:00', 'Mon-Fri 02:00-05:00'],
    ['  MONDAY , wednesday   1:00 - 2:30 ;', 'Mon,Wed 01:00-02:30'],
    ['Fri-Mon 23:00-01:00', 'Fri-Mon 23:00-01:00'],
    ['Sat 23:00-02:00', 'Sat 23:00-02:00'],
    ['Sun,Mon 22:00-03:00', 'Sun,Mon 22:00-03:00'],
    ['daily 03:00-04:00', 'daily 03:00-04:00'],
    ['* 03:00-04:00', 'daily 03:00-04:00'],
    ['Mon-Sun 03:00-04:00', 'daily 03:00-04:00'],
    ['Tue-Mon 03:00-04:00', 'daily 03:00-04:00'],
    ['Mon,Tue,Wed 00:00-24:00', 'Mon-Wed 00:00-24:00'],
    ['Mon 22:00-24:00', 'Mon 22:00-24:00'],
    ['Mon 22:00-00:00', 'Mon 22:00-00:00'],
    ['Mon,Mon,Mon-Tue 01:00-02:00', 'Mon,Tue 01:00-02:00'],
    ['Sun,Mon,Wed-Fri 01:00-02:00', 'Wed-Fri,Sun,Mon 01:00-02:00'],
    ['Mon 01:00-02:00;;Tue 03:00-04:00', 'Mon 01:00-02:00; Tue 03:00-04:00'],
  ];
  for (const [text, want] of table) {
    it(`${JSON.stringify(text)} → ${want}`, () => assert.equal(formatWindows(parseWindows(text)), want));
  }
  it('gives days Monday first (0 = Mon) and times in minutes; a window crossing midnight ends at or before its start', () => {
    assert.deepEqual(parseWindows('Fri-Mon 23:00-01:30; Sun 00:00-24:00'), [
      { days: [0, 4, 5, 6], start: 1380, end: 90 },
      { days: [6], start: 0, end: 1440 },
    ]);
  });
  it('off, none and empty are no window (any time); the result is frozen', () => {
    for (const text of ['off', 'OFF', ' none ', '', '  ']) assert.equal(parseWindows(text), null, text);
    const w = windows('Mon 01:00-02:00');
    assert.ok(Object.isFrozen(w) && Object.isFrozen(w[0]) && Object.isFrozen(w[0]?.days));
    assert.equal(formatWindows(null), 'off');
  });
});

describe('parseWindows: invalid, each with its reason', () => {
  const DAYS = 'days are Mon, Tue, Wed, Thu, Fri, Sat, Sun (or full names), ranges like Mon-Fri, or daily';
  const table: [string, string][] = [
    ['Mon-Fry 02:00-05:00', `unknown day "Fry"; ${DAYS}`],
    ['Mon 02:00-02:00', 'start and end are equal: a window must have a length (the whole day is 00:00-24:00)'],
    ['daily 00:00-00:00', 'start and end are equal: a window must have a length (the whole day is 00:00-24:00)'],
    ['Mon 24:00-01:00', '24:00 is only an end; a window starting at midnight starts at 00:00'],
    ['Mon 25:00-01:00', 'start "25:00" is not a time of day (hours 00–23, minutes 00–59; 24:00 as an end)'],
    ['Mon 01:00-01:60', 'end "01:60" is not a time of day (hours 00–23, minutes 00–59; 24:00 as an end)'],
    ['Mon 24:30-01:00', 'start "24:30" is not a time of day (hours 00–23, minutes 00–59; 24:00 as an end)'],
    ['Mon 1-2', 'start "1" is not a time HH:MM'],
    ['Mon 01:00-2', 'end "2" is not a time HH:MM'],
    ['Mon 001:00-02:00', 'start "001:00" is not a time HH:MM'],
    ['02:00-03:00', 'names no days; write them before the times, e.g. daily 02:00-05:00 or Mon-Fri 02:00-05:00'],
    ['Mon 02:00', 'must be <days> <HH:MM>-<HH:MM>, e.g. Mon-Fri 02:00-05:00'],
    ['Mon-Fri', 'must be <days> <HH:MM>-<HH:MM>, e.g. Mon-Fri 02:00-05:00'],
    ['Mon 02:00-03:00 UTC', 'must be <days> <HH:MM>-<HH:MM>, e.g. Mon-Fri 02:00-05:00'],
    ['Tue-Tue 01:00-02:00', 'the range "Tue-Tue" starts and ends on the same day; write the day alone'],
    ['Mon-Fri-Sat 01:00-02:00', `"Mon-Fri-Sat" is not a day or a range of two days; ${DAYS}`],
    ['Mon,,Tue 01:00-02:00', `an empty day in the list; ${DAYS}`],
    ['Mon daily 01:00-02:00', `unknown day "Mon daily"; ${DAYS}`],
    ['Mon,daily 01:00-02:00', `unknown day "daily" (daily stands alone); ${DAYS}`],
    ['; ;', 'names no window; write <days> <HH:MM>-<HH:MM>, or off'],
    ['Mon 01:00-02:00; Tue 03:00-03:00; Wed 25:00-01:00', 'window 2 "Tue 03:00-03:00": start and end are equal: a window must have a length (the whole day is 00:00-24:00); window 3 "Wed 25:00-01:00": start "25:00" is not a time of day (hours 00–23, minutes 00–59; 24:00 as an end)'],
  ];
  for (const [text, reason] of table) {
    it(`${JSON.stringify(text)}: ${reason}`, () => assert.throws(() => parseWindows(text), (err: Error) => {
      assert.equal(err.message, reason);
      return true;
    }));
  }
});

describe('windowAt / nextWindow in UTC', () => {
  // 2026-11-30 is a Monday. [windows, instant, inside?, the opening nextWindow gives]
  const WEEK = 'Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00';
  const table: [string, string, boolean, ReturnType<typeof shown>][] = [
    [WEEK, '2026-12-02T03:00Z', true, ['2026-12-02T02:00Z', '2026-12-02T05:00Z', [0]]],
    [WEEK, '2026-12-02T02:00Z', true, ['2026-12-02T02:00Z', '2026-12-02T05:00Z', [0]]],
    [WEEK, '2026-12-02T04:59:59.999Z', true, ['2026-12-02T02:00Z', '2026-12-02T05:00Z', [0]]],
    [WEEK, '2026-12-02T05:00Z', false, ['2026-12-03T02:00Z', '2026-12-03T05:00Z', [0]]],
    [WEEK, '2026-12-02T01:59Z', false, ['2026-12-02T02:00Z', '2026-12-02T05:00Z', [0]]],
    [WEEK, '2026-12-04T12:00Z', false, ['2026-12-05T00:00Z', '2026-12-05T06:00Z', [1]]],
    [WEEK, '2026-12-06T07:00Z', false, ['2026-12-07T02:00Z', '2026-12-07T05:00Z', [0]]],
    // across midnight: belongs to the day it starts on
    ['Sat 23:00-02:00', '2026-12-06T01:00Z', true, ['2026-12-05T23:00Z', '2026-12-06T02:00Z', [0]]],
    ['Sat 23:00-02:00', '2026-12-06T02:00Z', false, ['2026-12-12T23:00Z', '2026-12-13T02:00Z', [0]]],
    ['Sat 23:00-02:00', '2026-12-05T22:00Z', false, ['2026-12-05T23:00Z', '2026-12-06T02:00Z', [0]]],
    // Sunday → Monday, and a range wrapping the week's end
    ['Sun 22:00-03:00', '2026-12-07T01:00Z', true, ['2026-12-06T22:00Z', '2026-12-07T03:00Z', [0]]],
    ['Sun 22:00-03:00', '2026-12-07T03:00Z', false, ['2026-12-13T22:00Z', '2026-12-14T03:00Z', [0]]],
    ['Fri-Mon 23:00-01:00', '2026-12-01T00:30Z', true, ['2026-11-30T23:00Z', '2026-12-01T01:00Z', [0]]],
    ['Fri-Mon 23:00-01:00', '2026-12-01T02:00Z', false, ['2026-12-04T23:00Z', '2026-12-05T01:00Z', [0]]],
    ['Fri-Mon 23:00-01:00', '2026-12-05T00:30Z', true, ['2026-12-04T23:00Z', '2026-12-05T01:00Z', [0]]],
    // 24:00 and 00:00 as ends
    ['Mon 22:00-24:00', '2026-11-30T23:59Z', true, ['2026-11-30T22:00Z', '2026-12-01T00:00Z', [0]]],
    ['Mon 22:00-00:00', '2026-12-01T00:00Z', false, ['2026-12-07T22:00Z', '2026-12-08T00:00Z', [0]]],
    // windows that touch or overlap make one opening
    ['Mon 02:00-04:00; Mon 04:00-06:00', '2026-11-30T03:00Z', true, ['2026-11-30T02:00Z', '2026-11-30T06:00Z', [0, 1]]],
    ['Sun 01:00-03:00; Sat 20:00-02:00', '2026-12-05T12:00Z', false, ['2026-12-05T20:00Z', '2026-12-06T03:00Z', [1, 0]]],
    ['daily 23:00-24:00; daily 00:00-01:00', '2026-12-02T00:30Z', true, ['2026-12-01T23:00Z', '2026-12-02T01:00Z', [0, 1]]],
    // a whole week covered never closes
    ['daily 00:00-24:00', '2026-12-02T12:00Z', true, ['2026-12-02T12:00Z', null, [0]]],
    ['Mon-Fri 00:00-24:00; Sat,Sun 00:00-24:00', '2026-12-05T12:00Z', true, ['2026-12-05T12:00Z', null, [0, 1]]],
    ['daily 12:00-12:01; daily 12:01-12:00', '2026-12-05T00:00Z', true, ['2026-12-05T00:00Z', null, [0, 1]]],
    // all but one minute a week: one opening of a week less a minute
    ['Mon 00:01-24:00; Tue-Sun 00:00-24:00', '2026-12-01T12:00Z', true, ['2026-11-30T00:01Z', '2026-12-07T00:00Z', [0, 1]]],
  ];
  for (const [text, when, inside, want] of table) {
    it(`${text} at ${when}: ${inside ? 'inside' : 'outside'}, ${JSON.stringify(want)}`, () => {
      const w = windows(text);
      const t = at(when);
      assert.deepEqual(shown(nextWindow(w, 'UTC', t)), want);
      assert.deepEqual(shown(windowAt(w, 'UTC', t)), inside ? want : null);
    });
  }

  it('agrees with a direct reading of the wall clock at every 7th minute of two weeks', () => {
    const list = windows('Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00; Fri-Mon 23:30-00:30; Wed 12:00-12:01');
    const inside = (t: number): boolean => {
      const d = new Date(t);
      const day = (d.getUTCDay() + 6) % 7;
      const m = d.getUTCHours() * 60 + d.getUTCMinutes();
      return list.some((w) => (w.end > w.start
        ? w.days.includes(day) && m >= w.start && m < w.end
        : (w.days.includes(day) && m >= w.start) || (w.days.includes((day + 6) % 7) && m < w.end)));
    };
    let checked = 0;
    for (let t = at('2026-11-29T00:00Z'); t < at('2026-12-13T00:00Z'); t += 7 * MIN) {
      const open = windowAt(list, 'UTC', t);
      assert.equal(open !== null, inside(t), iso(t) ?? '');
      const next = nextWindow(list, 'UTC', t);
      assert.ok(next !== null && next.end !== null && next.end > t);
      if (open === null) {
        assert.ok(next.start > t && inside(next.start) && !inside(next.start - MIN), iso(t) ?? '');
      } else {
        assert.ok(inside(next.end - MIN) && !inside(next.end), iso(t) ?? '');
      }
      checked += 1;
    }
    assert.equal(checked, 2880);
  });

  it('earliestStart: off or inside → now; outside → the next opening', () => {
    const w = windows('Mon-Fri 02:00-05:00');
    assert.equal(iso(earliestStart(null, 'UTC', at('2026-12-02T12:00Z'))), '2026-12-02T12:00Z');
    assert.equal(iso(earliestStart(w, 'UTC', at('2026-12-02T03:00Z'))), '2026-12-02T03:00Z');
    assert.equal(iso(earliestStart(w, 'UTC', at('2026-12-04T12:00Z'))), '2026-12-07T02:00Z');
    assert.equal(nextWindow([], 'UTC', at('2026-12-04T12:00Z')), null);
    assert.equal(windowAt([], 'UTC', at('2026-12-04T12:00Z')), null);
  });

  it('reads other zones by their offset (Asia/Kolkata, +05:30)', () => {
    assert.deepEqual(shown(nextWindow(windows('daily 02:00-03:00'), 'Asia/Kolkata', at('2026-12-02T00:00Z'))), ['2026-12-02T20:30Z', '2026-12-02T21:30Z', [0]]);
  });
});

describe('nights the clocks change', () => {
  // [zone, windows, asked at, the opening (UTC), why]
  const table: [string, string, string, [string, string], string][] = [
    // Europe/Berlin, Sunday 2026-03-29: 02:00 CET (01:00Z) jumps to 03:00 CEST
    ['Europe/Berlin', 'Sun 02:15-02:45', '2026-03-28T12:00Z', ['2026-03-29T01:00Z', '2026-03-29T01:30Z'], 'inside the skipped hour: open its 30 min from the jump'],
    ['Europe/Berlin', 'Sun 01:30-02:30', '2026-03-28T12:00Z', ['2026-03-29T00:30Z', '2026-03-29T01:00Z'], 'end in the skipped hour: closes at the jump'],
    ['Europe/Berlin', 'Sun 02:30-04:00', '2026-03-28T12:00Z', ['2026-03-29T01:00Z', '2026-03-29T02:00Z'], 'start in the skipped hour: opens at the jump'],
    ['Europe/Berlin', 'Sun 01:00-04:00', '2026-03-28T12:00Z', ['2026-03-29T00:00Z', '2026-03-29T02:00Z'], 'straddling: wall-clock ends, 2 h that night'],
    ['Europe/Berlin', 'Sat 23:00-02:00', '2026-03-28T12:00Z', ['2026-03-28T22:00Z', '2026-03-29T01:00Z'], 'across midnight, ending at the jump'],
    ['Europe/Berlin', 'Sun 00:00-24:00', '2026-03-28T12:00Z', ['2026-03-28T23:00Z', '2026-03-29T22:00Z'], 'a 23 h day'],
    ['Europe/Berlin', 'Sun 02:15-02:45', '2026-03-22T12:00Z', ['2026-03-29T01:00Z', '2026-03-29T01:30Z'], 'asked a week ahead'],
    ['Europe/Berlin', 'Sun 02:15-02:45', '2026-03-21T12:00Z', ['2026-03-22T01:15Z', '2026-03-22T01:45Z'], 'the week before: CET'],
    ['Europe/Berlin', 'Sun 02:15-02:45', '2026-03-29T02:00Z', ['2026-04-05T00:15Z', '2026-04-05T00:45Z'], 'the week after: CEST'],
    // Europe/Berlin, Sunday 2026-10-25: 03:00 CEST (01:00Z) goes back to 02:00 CET
    ['Europe/Berlin', 'Sun 02:15-02:45', '2026-10-24T12:00Z', ['2026-10-25T00:15Z', '2026-10-25T01:45Z'], 'inside the repeated hour: first 02:15 to second 02:45, 90 min'],
    ['Europe/Berlin', 'Sun 01:30-02:30', '2026-10-24T12:00Z', ['2026-10-24T23:30Z', '2026-10-25T01:30Z'], 'end in the repeated hour: its second occurrence'],
    ['Europe/Berlin', 'Sun 02:30-04:00', '2026-10-24T12:00Z', ['2026-10-25T00:30Z', '2026-10-25T03:00Z'], 'start in the repeated hour: its first occurrence'],
    ['Europe/Berlin', 'Sun 00:00-24:00', '2026-10-24T12:00Z', ['2026-10-24T22:00Z', '2026-10-25T23:00Z'], 'a 25 h day'],
    ['Europe/Berlin', 'Sat 23:00-02:00', '2026-10-24T12:00Z', ['2026-10-24T21:00Z', '2026-10-25T01:00Z'], 'across midnight, ending at 02:00, which comes twice: the second, 4 h'],
    // America/New_York, Sunday 2026-03-08: 02:00 EST (07:00Z) jumps to 03:00 EDT
    ['America/New_York', 'Sun 02:15-02:45', '2026-03-07T12:00Z', ['2026-03-08T07:00Z', '2026-03-08T07:30Z'], 'inside the skipped hour'],
    ['America/New_York', 'Sun 01:30-03:30', '2026-03-07T12:00Z', ['2026-03-08T06:30Z', '2026-03-08T07:30Z'], 'straddling: 1 h that night'],
    ['America/New_York', 'Sat 22:00-02:30', '2026-03-07T12:00Z', ['2026-03-08T03:00Z', '2026-03-08T07:00Z'], 'across midnight, ending in the skipped hour'],
    // America/New_York, Sunday 2026-11-01: 02:00 EDT (06:00Z) goes back to 01:00 EST
    ['America/New_York', 'Sun 01:15-01:45', '2026-10-31T12:00Z', ['2026-11-01T05:15Z', '2026-11-01T06:45Z'], 'inside the repeated hour: 90 min'],
    ['America/New_York', 'Sun 00:30-01:30', '2026-10-31T12:00Z', ['2026-11-01T04:30Z', '2026-11-01T06:30Z'], 'straddling into it: 2 h'],
    ['America/New_York', 'Sun 01:30-03:00', '2026-10-31T12:00Z', ['2026-11-01T05:30Z', '2026-11-01T08:00Z'], 'straddling out of it: 2 h 30'],
    ['America/New_York', 'Sat 23:00-01:30', '2026-10-31T12:00Z', ['2026-11-01T03:00Z', '2026-11-01T06:30Z'], 'across midnight into the repeated hour'],
    // America/Santiago changes at midnight. Sunday 2026-09-06: 00:00 (-04, 04:00Z) jumps to 01:00 (-03)
    ['America/Santiago', 'Sun 00:00-01:00', '2026-09-05T00:00Z', ['2026-09-06T04:00Z', '2026-09-06T05:00Z'], 'the skipped hour is its first: open its hour from the jump'],
    ['America/Santiago', 'Sat 22:00-24:00', '2026-09-05T00:00Z', ['2026-09-06T02:00Z', '2026-09-06T04:00Z'], 'ending at a midnight that never comes: at the jump'],
    // Sunday 2026-04-05: 00:00 (-03, 03:00Z) goes back to Saturday 23:00 (-04)
    ['America/Santiago', 'Sat 23:00-24:00', '2026-04-04T00:00Z', ['2026-04-05T02:00Z', '2026-04-05T04:00Z'], 'the repeated hour ends Saturday: 2 h'],
    ['America/Santiago', 'Sun 00:00-02:00', '2026-04-04T00:00Z', ['2026-04-05T04:00Z', '2026-04-05T06:00Z'], 'after the change: as usual'],
  ];
  for (const [zone, text, when, [start, end], why] of table) {
    it(`${zone} ${text} asked ${when}: ${start} – ${end} (${why})`, () => {
      assert.deepEqual(shown(nextWindow(windows(text), zone, at(when))), [start, end, [0]]);
    });
  }

  it('inside a window on those nights: the same opening, closing when the rule says', () => {
    const rows: [string, string, string, [string, string] | null][] = [
      ['Europe/Berlin', 'Sun 02:15-02:45', '2026-10-25T01:00Z', ['2026-10-25T00:15Z', '2026-10-25T01:45Z']], // 02:00 CET, the second pass
      ['Europe/Berlin', 'Sun 02:15-02:45', '2026-10-25T01:50Z', null], // 02:50 CET
      ['Europe/Berlin', 'Sun 02:15-02:45', '2026-03-29T01:10Z', ['2026-03-29T01:00Z', '2026-03-29T01:30Z']], // 03:10 CEST
      ['America/New_York', 'Sun 01:15-01:45', '2026-11-01T06:30Z', ['2026-11-01T05:15Z', '2026-11-01T06:45Z']], // 01:30 EST
      ['America/New_York', 'Sun 02:15-02:45', '2026-03-08T06:59Z', null], // 01:59 EST, just before the jump
    ];
    for (const [zone, text, when, want] of rows) {
      const open = windowAt(windows(text), zone, at(when));
      assert.deepEqual(open === null ? null : [iso(open.start), iso(open.end)], want, `${zone} ${text} at ${when}`);
    }
  });

  it('a daily window in Berlin keeps one opening per day across both changes, never empty, never doubled', () => {
    const list = windows('daily 02:15-02:45');
    const lengths: number[] = [];
    let t = at('2026-03-27T00:00Z');
    for (let i = 0; i < 5; i++) {
      const o = nextWindow(list, 'Europe/Berlin', t);
      assert.ok(o !== null && o.end !== null);
      lengths.push((o.end - o.start) / MIN);
      t = o.end;
    }
    assert.deepEqual(lengths, [30, 30, 30, 30, 30]);
    t = at('2026-10-23T00:00Z');
    const starts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const o = nextWindow(list, 'Europe/Berlin', t);
      assert.ok(o !== null && o.end !== null);
      starts.push(`${iso(o.start)}+${(o.end - o.start) / MIN}`);
      t = o.end;
    }
    assert.deepEqual(starts, ['2026-10-23T00:15Z+30', '2026-10-24T00:15Z+30', '2026-10-25T00:15Z+90', '2026-10-26T01:15Z+30']);
  });
});
