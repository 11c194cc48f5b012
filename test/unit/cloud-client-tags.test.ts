import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SUPERVISOR_RETRY_MS, TagWriter, type CloudTagPort, type SupervisorTagPort, type TagWriterOptions } from '../../src/cloud/tags.js';
import { doctorExitCode, type Check } from '../../src/cli/doctor.js';
import { ManualClock } from '../../src/lib/clock.js';
import { BadResponseError, HttpError, UnreachableError, UnsupportedError } from '../../src/lib/errors.js';

function fakeCloud() {
  const calls: string[] = [];
  const cloud: CloudTagPort = {
    setTags: (tags) => {
      calls.push(`cloud set ${JSON.stringify(tags)}`);
      return Promise.resolve();
    },
    removeTag: (key) => {
      calls.push(`cloud rm ${key}`);
      return Promise.resolve();
    },
  };
  return { cloud, calls };
}

function fakeSupervisor(supports: boolean, fail?: Error) {
  const calls: string[] = [];
  let failure = fail;
  const supervisor: SupervisorTagPort = {
    supportsTagPatch: () => Promise.resolve(supports),
    patchDeviceTags: (tags) => {
      calls.push(`supervisor patch ${JSON.stringify(tags)}`);
      return failure ? Promise.reject(failure) : Promise.resolve();
    },
  };
  return { supervisor, calls, heal: () => (failure = undefined) };
}

/** A supervisor whose version probe fails as `fail` does (the PATCH is never reached). */
function probeFails(fail: Error) {
  const calls: string[] = [];
  const supervisor: SupervisorTagPort = {
    supportsTagPatch: () => {
      calls.push('version');
      return Promise.reject(fail);
    },
    patchDeviceTags: () => Promise.reject(new Error('not reached')),
  };
  return { supervisor, calls };
}

function capture() {
  const lines: string[] = [];
  const log = {
    warn: (_f: unknown, msg?: string) => void lines.push(`warn ${msg ?? ''}`),
    info: (msg: unknown) => void lines.push(`info ${String(msg)}`),
    debug: () => undefined,
  } as unknown as TagWriterOptions['log'] & object;
  return { log, lines };
}

const http = (status: number, path = '/v2/version') => new HttpError({ peer: 'supervisor', status, method: 'GET', path, body: 'x' });

describe('TagWriter', () => {
  it('writes through a supervisor that supports PATCH /v2/device/tags', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(true);
    const writer = new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock: new ManualClock() });
    assert.equal(await writer.set({ 'agent.ack': '1' }), 'supervisor');
    assert.deepEqual(s.calls, ['supervisor patch {"agent.ack":"1"}']);
    assert.deepEqual(c.calls, []);
  });

  it('writes directly to the cloud on an older supervisor, or without one', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(false);
    assert.equal(await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock: new ManualClock() }).set({ a: '1' }), 'cloud');
    assert.equal(await new TagWriter({ cloud: c.cloud, clock: new ManualClock() }).set({ b: '2' }), 'cloud');
    assert.deepEqual(s.calls, []);
    assert.deepEqual(c.calls, ['cloud set {"a":"1"}', 'cloud set {"b":"2"}']);
  });

  it('falls back to the cloud when the supervisor is unreachable', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(true, new UnreachableError('supervisor', 'UNREACHABLE', 'supervisor unreachable (connection refused)'));
    assert.equal(await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock: new ManualClock() }).set({ a: '1' }), 'cloud');
    assert.deepEqual(c.calls, ['cloud set {"a":"1"}']);
  });

  it('falls back to the cloud on any failure of the version probe: 500, 401, not JSON, too large, not semver', async () => {
    const failures: Error[] = [
      http(500), http(401),
      new BadResponseError('supervisor', 'BAD_RESPONSE', 'supervisor sent a reply to GET /v2/version that is not JSON: "<html>"'),
      new BadResponseError('supervisor', 'TOO_LARGE', 'supervisor reply to GET /v2/version is larger than 4194304 bytes; refused'),
      new UnsupportedError('supervisor reported version "banana", which is not semver'),
    ];
    for (const fail of failures) {
      const c = fakeCloud();
      const s = probeFails(fail);
      assert.equal(await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock: new ManualClock() }).set({ a: '1' }), 'cloud', fail.message);
      assert.deepEqual(c.calls, ['cloud set {"a":"1"}'], fail.message);
    }
  });

  it('falls back to the cloud when the PATCH itself fails (400, 500): the cloud has the last word', async () => {
    for (const status of [400, 500]) {
      const c = fakeCloud();
      const s = fakeSupervisor(true, http(status, '/v2/device/tags'));
      assert.equal(await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock: new ManualClock() }).set({ a: '1' }), 'cloud');
      assert.deepEqual(c.calls, ['cloud set {"a":"1"}']);
    }
  });

  it('a cancelled write is not carried over to the cloud', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(true, new UnreachableError('supervisor', 'ABORTED', 'cancelled'));
    await assert.rejects(new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock: new ManualClock() }).set({ a: '1' }), { code: 'ABORTED' });
    assert.deepEqual(c.calls, []);
  });

  it('after a failure the supervisor rests for a while, then carries tags again; each kind of failure is logged once', async () => {
    const clock = new ManualClock();
    const c = fakeCloud();
    const s = fakeSupervisor(true, http(500, '/v2/device/tags'));
    const { log, lines } = capture();
    const writer = new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock, log });
    assert.equal(await writer.set({ a: '1' }), 'cloud');
    assert.equal(await writer.set({ a: '2' }), 'cloud');
    assert.equal(s.calls.length, 1, 'resting: the second write does not ask the supervisor');
    await clock.advance(SUPERVISOR_RETRY_MS);
    assert.equal(await writer.set({ a: '3' }), 'cloud');
    assert.equal(s.calls.length, 2, 'tried again after the rest');
    assert.deepEqual(lines, ['warn the supervisor did not take the tags; writing them directly to the cloud for now']);
    s.heal();
    await clock.advance(SUPERVISOR_RETRY_MS);
    assert.equal(await writer.set({ a: '4' }), 'supervisor');
    assert.deepEqual(c.calls, ['cloud set {"a":"1"}', 'cloud set {"a":"2"}', 'cloud set {"a":"3"}']);
    assert.deepEqual(lines.slice(1), ['info the supervisor carries tags again']);
  });

  it('every value written passes through the redactor, on either path', async () => {
    const redact = (text: string) => text.replaceAll('SECRET', '[redacted]');
    const c = fakeCloud();
    const s = fakeSupervisor(true);
    await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock: new ManualClock(), redact }).set({ 'agent.ack': 'x failed SECRET' });
    await new TagWriter({ cloud: c.cloud, clock: new ManualClock(), redact }).set({ 'agent.ack': 'y SECRET' });
    assert.deepEqual(s.calls, ['supervisor patch {"agent.ack":"x failed [redacted]"}']);
    assert.deepEqual(c.calls, ['cloud set {"agent.ack":"y [redacted]"}']);
  });

  it('deletes always go to the cloud', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(true);
    await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor, clock: new ManualClock() }).remove('agent.old');
    assert.deepEqual(c.calls, ['cloud rm agent.old']);
    assert.deepEqual(s.calls, []);
  });
});

describe('doctor exit code', () => {
  const ok: Check = { name: 'x', status: 'ok', message: 'fine' };
  const warn: Check = { name: 'x', status: 'warn', message: 'old' };
  it('is 0 when nothing failed (warnings included), else 5 > 3 > 1', () => {
    assert.equal(doctorExitCode([ok, warn]), 0);
    assert.equal(doctorExitCode([ok, { name: 'a', status: 'fail', message: 'm' }]), 1);
    assert.equal(doctorExitCode([{ name: 'a', status: 'fail', message: 'm', cause: 'unreachable' }, { name: 'b', status: 'fail', message: 'm' }]), 3);
    assert.equal(doctorExitCode([{ name: 'a', status: 'fail', message: 'm', cause: 'unreachable' }, { name: 'b', status: 'fail', message: 'm', cause: 'refused' }]), 5);
  });
});
