import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TagWriter, type CloudTagPort, type SupervisorTagPort } from '../../src/cloud/tags.js';
import { doctorExitCode, type Check } from '../../src/cli/doctor.js';
import { HttpError, UnreachableError } from '../../src/lib/errors.js';

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
  const supervisor: SupervisorTagPort = {
    supportsTagPatch: () => Promise.resolve(supports),
    patchDeviceTags: (tags) => {
      calls.push(`supervisor patch ${JSON.stringify(tags)}`);
      return fail ? Promise.reject(fail) : Promise.resolve();
    },
  };
  return { supervisor, calls };
}

describe('TagWriter', () => {
  it('writes through a supervisor that supports PATCH /v2/device/tags', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(true);
    const writer = new TagWriter({ cloud: c.cloud, supervisor: s.supervisor });
    assert.equal(await writer.set({ 'agent.ack': '1' }), 'supervisor');
    assert.deepEqual(s.calls, ['supervisor patch {"agent.ack":"1"}']);
    assert.deepEqual(c.calls, []);
  });

  it('writes directly to the cloud on an older supervisor, or without one', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(false);
    assert.equal(await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor }).set({ a: '1' }), 'cloud');
    assert.equal(await new TagWriter({ cloud: c.cloud }).set({ b: '2' }), 'cloud');
    assert.deepEqual(s.calls, []);
    assert.deepEqual(c.calls, ['cloud set {"a":"1"}', 'cloud set {"b":"2"}']);
  });

  it('falls back to the cloud when the supervisor is unreachable', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(true, new UnreachableError('supervisor', 'UNREACHABLE', 'supervisor unreachable (connection refused)'));
    assert.equal(await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor }).set({ a: '1' }), 'cloud');
    assert.deepEqual(c.calls, ['cloud set {"a":"1"}']);
  });

  it('does not hide a supervisor refusal (400) behind a cloud write', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(true, new HttpError({ peer: 'supervisor', status: 400, method: 'PATCH', path: '/v2/device/tags', body: 'bad key' }));
    await assert.rejects(new TagWriter({ cloud: c.cloud, supervisor: s.supervisor }).set({ a: '1' }), { code: 'BAD_REQUEST' });
    assert.deepEqual(c.calls, []);
  });

  it('deletes always go to the cloud', async () => {
    const c = fakeCloud();
    const s = fakeSupervisor(true);
    await new TagWriter({ cloud: c.cloud, supervisor: s.supervisor }).remove('agent.old');
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
