import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const WEEK = 'Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00';

describe('fleet-agent window (built CLI)', () => {
  it('with no window set: work may start any time', async () => {
    const [human, json] = await Promise.all([
      runCli(['window', '--at', '2026-12-02T14:00Z'], {}),
      runCli(['window', '--json', '--at', '2026-12-02T14:00Z'], { TZ: 'Europe/Berlin' }),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout, 'maintenance window: off (AGENT_MAINTENANCE_WINDOW is not set); disruptive work may start any time\ntime zone: UTC\n');
    assert.deepEqual(JSON.parse(json.stdout), {
      window: 'off', timeZone: 'Europe/Berlin', at: '2026-12-02T14:00:00Z', open: true, startsAt: '2026-12-02T14:00:00Z', current: null, next: null,
    });
  });

  it('outside a window: when the next opens, in UTC and in TZ local time', async () => {
    const env = { AGENT_MAINTENANCE_WINDOW: WEEK, TZ: 'Europe/Berlin' };
    const [human, json] = await Promise.all([
      runCli(['window', '--at', '2026-12-04T12:00Z'], env),
      runCli(['window', '--at', '2026-12-04T12:00Z', '--json'], env),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.deepEqual(human.stdout.split('\n'), [
      'maintenance window: Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00',
      'time zone: Europe/Berlin',
      'now: outside every window (2026-12-04T12:00:00Z, Fri 2026-12-04 13:00 UTC+01:00); disruptive work waits until 2026-12-04T23:00:00Z',
      'next: 2026-12-04T23:00:00Z (Sat 2026-12-05 00:00 UTC+01:00) until 2026-12-05T05:00:00Z (Sat 2026-12-05 06:00 UTC+01:00)',
      '',
    ]);
    assert.deepEqual(JSON.parse(json.stdout), {
      window: WEEK,
      timeZone: 'Europe/Berlin',
      at: '2026-12-04T12:00:00Z',
      open: false,
      startsAt: '2026-12-04T23:00:00Z',
      current: null,
      next: {
        start: '2026-12-04T23:00:00Z', startLocal: 'Sat 2026-12-05 00:00 UTC+01:00',
        end: '2026-12-05T05:00:00Z', endLocal: 'Sat 2026-12-05 06:00 UTC+01:00',
        windows: ['Sat,Sun 00:00-06:00'],
      },
    });
  });

  it('inside a window on the night New York\'s clocks go back: open until the second 01:45, then the next', async () => {
    const env = { AGENT_MAINTENANCE_WINDOW: 'Sun 01:15-01:45; Mon-Fri 02:00-03:00', TZ: 'America/New_York' };
    const res = await runCli(['window', '--json', '--at', '2026-11-01T01:20-05:00'], env);
    assert.equal(res.code, 0, res.stderr);
    const doc = JSON.parse(res.stdout) as Record<string, unknown>;
    assert.equal(doc.open, true);
    assert.equal(doc.startsAt, '2026-11-01T06:20:00Z');
    assert.deepEqual(doc.current, {
      start: '2026-11-01T05:15:00Z', startLocal: 'Sun 2026-11-01 01:15 UTC-04:00',
      end: '2026-11-01T06:45:00Z', endLocal: 'Sun 2026-11-01 01:45 UTC-05:00',
      windows: ['Sun 01:15-01:45'],
    });
    assert.deepEqual(doc.next, {
      start: '2026-11-02T07:00:00Z', startLocal: 'Mon 2026-11-02 02:00 UTC-05:00',
      end: '2026-11-02T08:00:00Z', endLocal: 'Mon 2026-11-02 03:00 UTC-05:00',
      windows: ['Mon-Fri 02:00-03:00'],
    });
    const human = await runCli(['window', '--at', '2026-11-01T06:20Z'], env);
    assert.match(human.stdout, /^now: inside a window, open until 2026-11-01T06:45:00Z \(Sun 2026-11-01 01:45 UTC-05:00\); disruptive work may start now$/m);
  });

  it('a bad window or zone exits 2 listing every bad key; a bad --at is a usage error', async () => {
    const env = { AGENT_MAINTENANCE_WINDOW: 'Mon-Fri 02:00-05:00; Sun 24:00-01:00', TZ: 'Mars/Olympus' };
    const [human, json, at, noDay] = await Promise.all([
      runCli(['window'], env),
      runCli(['window', '--json'], env),
      runCli(['window', '--at', '2026-12-04 12:00'], {}),
      runCli(['window', '--at', '2026-02-30T12:00Z'], {}),
    ]);
    assert.equal(human.code, 2);
    assert.match(human.stderr, /^- AGENT_MAINTENANCE_WINDOW="Mon-Fri 02:00-05:00; Sun 24:00-01:00": window 2 "Sun 24:00-01:00": 24:00 is only an end; a window starting at midnight starts at 00:00$/m);
    assert.match(human.stderr, /^- TZ="Mars\/Olympus": must be an IANA time zone/m);
    assert.equal(json.code, 2);
    const doc = JSON.parse(json.stdout) as { error: { code: string; problems: string[] } };
    assert.equal(doc.error.code, 'CONFIG');
    assert.equal(doc.error.problems.length, 2);
    assert.equal(at.code, 2);
    assert.match(at.stderr, /--at must be an ISO 8601 time with Z or an offset/);
    // Not rolled over into March 2, as Date.parse would.
    assert.equal(noDay.code, 2);
    assert.match(noDay.stderr, /--at must be an ISO 8601 time with Z or an offset, e\.g\. 2026-12-05T02:30Z \(that day or time does not exist\)/);
  });

  it('is listed by --help, with its usage', async () => {
    const [help, usage] = await Promise.all([runCli(['--help'], {}), runCli(['window', '--help'], {})]);
    assert.match(help.stdout, /^ {2}window\s+is the device inside its maintenance window/m);
    assert.match(usage.stdout, /^usage: fleet-agent window \[--at TIME\] \[--json\]$/m);
  });
});
