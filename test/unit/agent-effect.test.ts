import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecContext } from '../../src/agent/actions.js';
import { COMMANDS } from '../../src/agent/commands.js';
import { runEffect } from '../../src/agent/effect.js';
import { Journal } from '../../src/agent/journal.js';
import type { SupervisorPort } from '../../src/agent/ports.js';
import { ManualClock, settle } from '../../src/lib/clock.js';
import { AgentError, HttpError } from '../../src/lib/errors.js';
import { silentLog, testConfig } from '../helpers/agent-fixtures.js';

function memoryJournal(clock: ManualClock): Journal {
  return new Journal({
    dir: 'memory', clock,
    store: { path: 'memory', read: () => Promise.resolve({ status: 'missing' }), write: () => Promise.resolve(), quarantine: () => Promise.resolve(undefined) },
  });
}

function context(clock: ManualClock, journal: Journal, supervisor: Partial<SupervisorPort>, stop = new AbortController()): ExecContext {
  return {
    supervisor: supervisor as SupervisorPort, journal, clock, log: silentLog(), signal: stop.signal, stopSignal: stop.signal,
    sleep: (ms) => clock.sleep(ms, stop.signal), observe: (e) => Promise.resolve({ bootId: e.bootId, containers: null, statuses: null, wiped: false }),
    containerIds: () => Promise.resolve({ main: 'c1' }), serviceStatuses: () => Promise.resolve({ main: 'Running' }), recordInCloud: () => Promise.resolve(), recordAck: () => Promise.resolve(), ownService: 'fleet-agent',
    config: () => testConfig(), bootId: 'b1', random: () => 0.5, changed: () => undefined,
  };
}

const ref = { command: 'restart', token: 't1', origin: 'operator', force: false, services: [] } as const;

describe('runEffect: what is known to have sent nothing is tried again; a stop leaves the outcome to the next process', () => {
  it('the version the call needs first fails (500): nothing sent, retried, then sent once', async () => {
    const clock = new ManualClock();
    const journal = memoryJournal(clock);
    let versionFails = 2;
    let restarts = 0;
    const supervisor: Partial<SupervisorPort> = {
      version: () => (versionFails-- > 0 ? Promise.reject(new HttpError({ peer: 'supervisor', status: 500, method: 'GET', path: '/v2/version', body: 'oops' })) : Promise.resolve('19.0.5')),
      restartApp: () => ((restarts += 1), Promise.resolve()),
    };
    const run = runEffect(context(clock, journal, supervisor), ref, COMMANDS.restart);
    await settle();
    assert.equal(restarts, 0);
    assert.deepEqual([journal.get('restart', 't1')?.state, journal.get('restart', 't1')?.sending], ['running', false]);
    assert.match(journal.get('restart', 't1')?.detail ?? '', /answered 500 .*nothing sent, retrying/);
    await clock.advance(120_000);
    await run;
    assert.equal(restarts, 1);
    assert.equal(journal.get('restart', 't1')?.state, 'done');
  });

  it('the agent stops inside the call (the request is cut): the entry stays running with its call in flight', async () => {
    const clock = new ManualClock();
    const journal = memoryJournal(clock);
    const stop = new AbortController();
    const supervisor: Partial<SupervisorPort> = {
      version: () => Promise.resolve('19.0.5'),
      restartApp: () => new Promise((_r, reject) => stop.signal.addEventListener('abort', () => reject(new AgentError('ABORTED', 'cancelled')))),
    };
    const run = runEffect(context(clock, journal, supervisor, stop), ref, COMMANDS.restart);
    await settle();
    stop.abort();
    await run;
    const e = journal.get('restart', 't1');
    assert.deepEqual([e?.state, e?.sending], ['running', true], 'not failed: the next process watches for the evidence');
    assert.deepEqual(e?.before, { main: 'c1' }, 'the container ids to compare with were stored with the intent');
  });
});

describe('runEffect: an intent closed while it waits before its call is not sent', () => {
  it('a reboot superseded while its running ack is written: no call, the rejection stays, no budget stamp', async () => {
    const clock = new ManualClock();
    const journal = memoryJournal(clock);
    const cancel = new AbortController();
    let reboots = 0;
    const ctx = {
      ...context(clock, journal, { version: () => Promise.resolve('19.0.5'), reboot: () => ((reboots += 1), Promise.resolve()) }),
      signal: cancel.signal,
      // Meanwhile a decision round closes it (the operator's tag named a new token) and cancels its job.
      recordAck: async () => {
        const e = journal.get('reboot', 'r1');
        if (e) await journal.put({ ...e, state: 'rejected', sending: false, detail: 'superseded by r2 before it ran' }, undefined, 'keep');
        cancel.abort();
      },
    };
    const run = runEffect(ctx, { command: 'reboot', token: 'r1', origin: 'operator', force: false, services: [] }, COMMANDS.reboot);
    await settle();
    assert.equal(reboots, 0);
    await run;
    assert.deepEqual([journal.get('reboot', 'r1')?.state, journal.get('reboot', 'r1')?.detail], ['rejected', 'superseded by r2 before it ran']);
    assert.deepEqual(journal.rebootStamps(), []);
  });
});
