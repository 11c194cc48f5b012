import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ruleFor, type Actor } from '../../src/sim/cloud/permissions.js';
import { ruleViolation } from '../../src/sim/cloud/validate.js';

const device: Actor = { kind: 'device', deviceId: 1, appId: 10, uuid: 'u1' };
const user: Actor = { kind: 'user', userId: 1, username: 'op' };
const none = (): undefined => undefined;

describe('cloud simulator permissions (device key)', () => {
  it('own device only; no create/delete of devices', () => {
    assert.equal(ruleFor(device, 'device', 'read', none)?.({ id: 1 }), true);
    assert.equal(ruleFor(device, 'device', 'read', none)?.({ id: 2 }), false);
    assert.equal(ruleFor(device, 'device', 'create', none), null);
    assert.equal(ruleFor(device, 'device', 'delete', none), null);
  });

  it('fleet rows are read-only and limited to its own fleet', () => {
    assert.equal(ruleFor(device, 'application_tag', 'read', none)?.({ application: 10 }), true);
    assert.equal(ruleFor(device, 'application_tag', 'read', none)?.({ application: 11 }), false);
    assert.equal(ruleFor(device, 'application_environment_variable', 'create', none), null);
    assert.equal(ruleFor(device, 'application', 'update', none), null);
  });

  it('may not delete device config variables; may delete its own tags', () => {
    assert.equal(ruleFor(device, 'device_config_variable', 'delete', none), null);
    assert.equal(ruleFor(device, 'device_tag', 'delete', none)?.({ device: 1 }), true);
  });

  it('no credential means no permission; a user sees everything', () => {
    assert.equal(ruleFor(undefined, 'device', 'read', none), null);
    assert.equal(ruleFor(user, 'device', 'delete', none)?.({ id: 99 }), true);
  });
});

describe('cloud simulator model rules', () => {
  it('tag keys: no whitespace, no reserved prefix, 1–100 chars; values ≤ 60158', () => {
    assert.equal(ruleViolation('device_tag', { tag_key: 'agent.ok', value: 'v' }), undefined);
    for (const tag_key of ['a b', 'io.balena.x', 'io.resin.x', '', 'x'.repeat(101)]) {
      assert.ok(ruleViolation('device_tag', { tag_key, value: 'v' }) !== undefined, tag_key);
    }
    assert.ok(ruleViolation('application_tag', { tag_key: 'k', value: 'v'.repeat(60_159) }) !== undefined);
  });

  it('env and config variable names', () => {
    assert.equal(ruleViolation('device_environment_variable', { name: 'MY_VAR', value: 'x' }), undefined);
    for (const name of ['1ABC', 'BALENA_X', 'RESIN_X', 'USER', 'has-dash']) {
      assert.ok(ruleViolation('device_environment_variable', { name, value: 'x' }) !== undefined, name);
    }
    assert.ok(ruleViolation('device_environment_variable', { name: 'OK', value: 'a\nb' }) !== undefined);
    assert.equal(ruleViolation('device_config_variable', { name: 'BALENA_HOST_CONFIG_x:y', value: '1' }), undefined);
    assert.ok(ruleViolation('device_config_variable', { name: 'NOT_CONFIG', value: '1' }) !== undefined);
  });

  it('device names have no newline', () => {
    assert.ok(ruleViolation('device', { device_name: 'a\nb' }) !== undefined);
    assert.equal(ruleViolation('device', { device_name: 'fine' }), undefined);
  });
});
