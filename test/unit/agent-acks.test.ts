import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ackTags, formatAck, MAX_DETAIL, parseAck } from '../../src/agent/acks.js';

const AT = Date.UTC(2026, 0, 2, 3, 4, 5);

describe('formatAck', () => {
  it('writes token, state, UTC time and detail on one line', () => {
    assert.equal(formatAck('t1', 'done', AT, 'blinked'), 't1 done 2026-01-02T03:04:05.000Z blinked');
    assert.equal(formatAck('t1', 'running', AT), 't1 running 2026-01-02T03:04:05.000Z');
  });

  it('replaces C0 and C1 control characters and DEL, so an echoed tag value cannot break the line or the terminal', () => {
    const hostile = 'unexpected "x\u0007\u001b[31mred\u001b[0m\u007f\u009b2J"\r\nnext line\u0000\u2028end';
    const ack = formatAck('t1', 'rejected', AT, hostile);
    // eslint-disable-next-line no-control-regex -- what must not be left
    assert.ok(!/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(ack), JSON.stringify(ack));
    assert.equal(ack, 't1 rejected 2026-01-02T03:04:05.000Z unexpected "x??[31mred?[0m??2J" next line? end');
    assert.deepEqual(parseAck(ack), { token: 't1', state: 'rejected', atWall: AT, detail: 'unexpected "x??[31mred?[0m??2J" next line? end' });
  });

  it('shortens a long detail', () => {
    const ack = formatAck('t1', 'failed', AT, 'x'.repeat(1_000));
    assert.ok((parseAck(ack)?.detail.length ?? 0) <= MAX_DETAIL, ack);
  });
});

describe('ackTags: operators\' acks and behaviours\' .last', () => {
  it('an operator\'s entry goes to <prefix><command>.ack; a behaviour\'s to <prefix><behaviour>.last = <command>[ <services>] <state> <time>[ <detail>]', () => {
    const base = { state: 'done' as const, updatedAt: AT, detail: '' };
    assert.deepEqual(ackTags([
      { ...base, command: 'reboot', token: 't1', services: [] },
      { ...base, command: 'restart-service', token: 'watchdog@main:0.0', origin: 'watchdog', services: ['main'], detail: 'container recreated (main)' },
      { ...base, command: 'reboot', token: 'reboot-schedule@2026-01-02T03:00Z', origin: 'reboot-schedule', services: [], state: 'running' },
    ], 'agent.'), {
      'agent.reboot.ack': 't1 done 2026-01-02T03:04:05.000Z',
      'agent.watchdog.last': 'restart-service main done 2026-01-02T03:04:05.000Z container recreated (main)',
      'agent.reboot-schedule.last': 'reboot running 2026-01-02T03:04:05.000Z',
    });
  });
});
