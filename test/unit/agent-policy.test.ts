import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/agent/commands.js';
import { LOCK_BACKOFF, nextStep, SERVER_ERROR_TRIES, type Outcome, type Progress } from '../../src/agent/policy.js';

const fresh: Progress = { lockTries: 0, downTries: 0, serverErrors: 0, lockWaitedMs: 0, lockWaitMs: 30 * 60_000 };
const fail = (code: string, over: Partial<Extract<Outcome, { ok: false }>> = {}): Outcome => ({ ok: false, code, mayHaveArrived: true, message: `${code} happened`, stopping: false, ...over });

describe('nextStep(): what follows a supervisor call (the table in policy.ts)', () => {
  const table: { name: string; command: keyof typeof COMMANDS; outcome: Outcome; progress?: Partial<Progress>; want: Record<string, unknown> }[] = [
    { name: '2xx on restart → done with its detail', command: 'restart', outcome: { ok: true, detail: '' }, want: { next: 'done', detail: '' } },
    { name: '2xx on update keeps the detail', command: 'update', outcome: { ok: true, detail: 'ignored' }, want: { next: 'done', detail: 'ignored' } },
    { name: '2xx on reboot → wait for the new boot', command: 'reboot', outcome: { ok: true, detail: '' }, want: { next: 'await-boot' } },
    { name: '2xx on shutdown → wait for the new boot', command: 'shutdown', outcome: { ok: true, detail: '' }, want: { next: 'await-boot' } },
    { name: '423 early → retry after the lock backoff', command: 'reboot', outcome: fail('LOCKED', { lock: 'held by app' }), want: { next: 'retry', waitMs: LOCK_BACKOFF.baseMs, detail: 'held by app; retrying until the lock wait ends', count: 'lockTries' } },
    { name: '423 near the end → the wait is cut to the lock wait', command: 'restart', outcome: fail('LOCKED'), progress: { lockWaitedMs: 30 * 60_000 - 5_000, lockTries: 9 }, want: { next: 'retry', waitMs: 5_000, detail: 'update lock held; retrying until the lock wait ends', count: 'lockTries' } },
    { name: '423 after the lock wait → blocked', command: 'purge', outcome: fail('LOCKED'), progress: { lockWaitedMs: 30 * 60_000 }, want: { next: 'blocked', detail: 'update lock held; gave up after waiting 1800 s (set force to override)' } },
    { name: 'connection refused on a reboot → retried (it never arrived)', command: 'reboot', outcome: fail('UNREACHABLE', { mayHaveArrived: false }), want: { next: 'retry', waitMs: 1_000, detail: 'supervisor unreachable; retrying', count: 'downTries' } },
    { name: 'connection reset on a reboot → watched, never resent', command: 'reboot', outcome: fail('UNREACHABLE'), want: { next: 'watch', reason: 'no answer from the supervisor' } },
    { name: 'timeout on a purge → watched', command: 'purge', outcome: fail('TIMEOUT', { mayHaveArrived: false }), want: { next: 'watch', reason: 'no answer from the supervisor' } },
    { name: 'timeout on identify → retried (harmless)', command: 'identify', outcome: fail('TIMEOUT'), want: { next: 'retry', waitMs: 1_000, detail: 'supervisor unreachable; retrying', count: 'downTries' } },
    { name: 'unreadable reply on restart-service → watched', command: 'restart-service', outcome: fail('BAD_RESPONSE'), want: { next: 'watch', reason: 'unreadable reply from the supervisor' } },
    { name: 'oversized reply on stop-service → watched', command: 'stop-service', outcome: fail('TOO_LARGE'), want: { next: 'watch', reason: 'unreadable reply from the supervisor' } },
    { name: 'unreadable reply on start-service → failed', command: 'start-service', outcome: fail('BAD_RESPONSE'), want: { next: 'failed', detail: 'BAD_RESPONSE happened' } },
    { name: '5xx on update → retried', command: 'update', outcome: fail('SERVER_ERROR'), want: { next: 'retry', waitMs: 1_000, detail: 'SERVER_ERROR happened; retrying', count: 'serverErrors' } },
    { name: `5xx on update, ${SERVER_ERROR_TRIES}th time → failed`, command: 'update', outcome: fail('SERVER_ERROR'), progress: { serverErrors: SERVER_ERROR_TRIES - 1 }, want: { next: 'failed', detail: 'SERVER_ERROR happened' } },
    { name: '5xx on reboot → failed, not repeated', command: 'reboot', outcome: fail('SERVER_ERROR'), want: { next: 'failed', detail: 'SERVER_ERROR happened; not repeated (set a new token to try again)' } },
    { name: '404 on restart-service → failed', command: 'restart-service', outcome: fail('NOT_FOUND'), want: { next: 'failed', detail: 'NOT_FOUND happened; not repeated (set a new token to try again)' } },
    { name: 'cut by the agent\'s own stop → left for the next process', command: 'restart', outcome: fail('ABORTED', { stopping: true }), want: { next: 'leave' } },
    { name: 'aborted while not stopping → failed', command: 'identify', outcome: fail('ABORTED'), want: { next: 'failed', detail: 'ABORTED happened' } },
  ];
  for (const row of table) {
    it(row.name, () => assert.deepEqual(nextStep(COMMANDS[row.command], row.outcome, { ...fresh, ...row.progress }, 0), row.want));
  }
  it('the down backoff grows with the tries and is jittered by the caller\'s random number', () => {
    const wait = (tries: number, jitter: number) => {
      const step = nextStep(COMMANDS.identify, fail('UNREACHABLE'), { ...fresh, downTries: tries }, jitter);
      return step.next === 'retry' ? step.waitMs : -1;
    };
    assert.equal(wait(0, 0.5), 1_000);
    assert.equal(wait(3, 0.5), 8_000);
    assert.equal(wait(10, 0.999), 59_940);
  });
});
