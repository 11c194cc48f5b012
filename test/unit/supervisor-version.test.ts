import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GATES, parseSupervisorVersion, requireGate, supports } from '../../src/supervisor/version.js';
import { parseCount, parseTimeout } from '../../src/cli/supervisor.js';

describe('supervisor versions', () => {
  it('parses plain, v-prefixed and build-suffixed versions; refuses garbage', () => {
    assert.equal(parseSupervisorVersion('19.0.5'), '19.0.5');
    assert.equal(parseSupervisorVersion('v7.21.0'), '7.21.0');
    assert.equal(parseSupervisorVersion('17.8.0+rev3'), '17.8.0');
    assert.equal(parseSupervisorVersion('latest'), undefined);
  });

  it('compares gates as semver, not as strings', () => {
    assert.equal(supports('10.2.0', 'journalLogs'), true);
    assert.equal(supports('9.15.7', 'journalLogs'), false);
    assert.equal(supports('11.3.0', 'headerAuth'), true);
    assert.equal(supports('11.2.10', 'headerAuth'), false);
    assert.equal(supports('8.10.0', 'serviceByName'), true);
    assert.equal(GATES.tagPatch.since, '17.8.0');
  });

  it('names the feature, the version needed and the version found', () => {
    assert.throws(() => requireGate('17.7.0', 'tagPatch'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'UNSUPPORTED');
      assert.equal(err.message, 'writing device tags through the supervisor (PATCH /v2/device/tags) needs supervisor ≥ 17.8.0; this device runs 17.7.0');
      return true;
    });
    assert.doesNotThrow(() => requireGate('19.0.5', 'tagPatch'));
  });
});

describe('--timeout', () => {
  it('reads ms, s, m, h and bare seconds', () => {
    assert.deepEqual(['500ms', '10s', '1.5s', '2m', '1h', '3'].map(parseTimeout), [500, 10_000, 1_500, 120_000, 3_600_000, 3_000]);
  });
  it('refuses zero, negatives and words with a usage error', () => {
    for (const bad of ['0s', '-1s', 'soon', '', '10x']) {
      assert.throws(() => parseTimeout(bad), (err: Error & { code?: string }) => err.code === 'USAGE');
    }
  });
});

describe('--count', () => {
  it('reads plain whole numbers', () => {
    assert.deepEqual(['1', '2', '1000', '1000000'].map(parseCount), [1, 2, 1_000, 1_000_000]);
  });
  it('refuses zero, negatives, exponents, hex, decimals and words with a usage error', () => {
    for (const bad of ['0', '-1', '1e3', '0x10', '2.0', '1_000', 'ten', '', '1000001']) {
      assert.throws(() => parseCount(bad), (err: Error & { code?: string }) => err.code === 'USAGE' && err.message.startsWith('--count must be a whole number'), bad);
    }
  });
});
