import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromJournalJson, unitFilter, type JournalEntry } from '../../src/logs/line.js';

function entry(fields: Record<string, unknown>): JournalEntry {
  const read = fromJournalJson(JSON.stringify({ __REALTIME_TIMESTAMP: '1764660000123456', ...fields }));
  if (read instanceof Error) throw read;
  return read;
}

describe('fromJournalJson', () => {
  it('reads time (ms, UTC), unit, priority, message and cursor of a host service line', () => {
    assert.deepEqual(entry({ _SYSTEMD_UNIT: 'balena.service', PRIORITY: '3', MESSAGE: 'boom', __CURSOR: 's=1;i=2' }), {
      line: { time: '2025-12-02T07:20:00.123Z', unit: 'balena.service', priority: 3, message: 'boom' },
      atUs: 1764660000123456,
      cursor: 's=1;i=2',
    });
  });

  it('names a container line by its container, a kernel line `kernel`, else the syslog identifier', () => {
    assert.equal(entry({ CONTAINER_NAME: 'main_1_1', _SYSTEMD_UNIT: 'balena.service', MESSAGE: 'x' }).line.unit, 'main_1_1');
    assert.equal(entry({ _TRANSPORT: 'kernel', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: 'Under-voltage detected! (0x00050005)' }).line.unit, 'kernel');
    assert.equal(entry({ SYSLOG_IDENTIFIER: 'chronyd', MESSAGE: 'x' }).line.unit, 'chronyd');
    assert.equal(entry({ MESSAGE: 'x' }).line.unit, 'unknown');
  });

  it('decodes a message journald exported as bytes, and defaults a missing or odd priority to info', () => {
    const read = entry({ MESSAGE: [104, 105, 0xe2, 0x82, 0xac], PRIORITY: '9' });
    assert.equal(read.line.message, 'hi€');
    assert.equal(read.line.priority, 6);
    assert.equal(entry({}).line.priority, 6);
  });

  it('returns an error, never throws, for text that is not a journal entry', () => {
    for (const text of ['', 'Dec 02 07:20:00 host balenad: text', '[1,2]', 'null', '{"MESSAGE":"no time"}', '{"__REALTIME_TIMESTAMP":"soon"}']) {
      assert.ok(fromJournalJson(text) instanceof Error, text);
    }
  });
});

describe('unitFilter', () => {
  it('passes everything without units', () => {
    assert.ok(unitFilter(null)('anything'));
    assert.ok(unitFilter([])('anything'));
  });

  it('matches a unit with or without `.service`, and a container name as given', () => {
    const pass = unitFilter(['balena', 'chronyd.service', 'main_1_1', 'boot.mount']);
    assert.deepEqual(
      ['balena.service', 'balena', 'chronyd', 'chronyd.service', 'main_1_1', 'boot.mount', 'openvpn.service', 'kernel', 'boot'].map(pass),
      [true, true, true, true, true, true, false, false, false],
    );
  });
});
