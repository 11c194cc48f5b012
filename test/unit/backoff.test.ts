import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capRetryAfter, exponential, fullJitter, MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/lib/backoff.js';

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 10, 27, 12, 0, 0);
  it('reads delta-seconds as seconds, not milliseconds', () => {
    assert.equal(parseRetryAfter('30', now), 30_000);
    assert.equal(parseRetryAfter(' 1.5 ', now), 1_500);
  });
  it('reads an HTTP-date relative to the wall clock', () => {
    assert.equal(parseRetryAfter('Fri, 27 Nov 2026 12:00:45 GMT', now), 45_000);
    assert.equal(parseRetryAfter('Fri, 27 Nov 2026 11:00:00 GMT', now), 0);
  });
  it('caps what it returns at MAX_RETRY_AFTER_MS (1 h): a bogus header never makes a device go dark for weeks', () => {
    assert.equal(MAX_RETRY_AFTER_MS, 3_600_000);
    assert.equal(parseRetryAfter('3600', now), 3_600_000);
    assert.equal(parseRetryAfter('3601', now), MAX_RETRY_AFTER_MS);
    // 2147484 s is the first whole second past what one setTimeout can hold (2^31-1 ms)
    assert.equal(parseRetryAfter('2147484', now), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('99999999999999999999', now), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now), MAX_RETRY_AFTER_MS);
    assert.equal(capRetryAfter(-5), 0);
    assert.equal(capRetryAfter(Number.NaN), 0);
    assert.equal(capRetryAfter(Number.POSITIVE_INFINITY), MAX_RETRY_AFTER_MS);
  });
  it('answers undefined for absent or garbage values', () => {
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
    assert.equal(parseRetryAfter('-5', now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
  });
});

describe('fullJitter', () => {
  it('stays within [0, min(max, base·2^n)]', () => {
    assert.equal(fullJitter(0, { baseMs: 1000, maxMs: 60_000, random: () => 0.999 }), 999);
    assert.equal(fullJitter(3, { baseMs: 1000, maxMs: 60_000, random: () => 0.5 }), 4000);
    assert.equal(fullJitter(20, { baseMs: 1000, maxMs: 60_000, random: () => 0.5 }), 30_000);
    assert.equal(fullJitter(5, { baseMs: 1000, maxMs: 60_000, random: () => 0 }), 0);
  });
  it('exponential is the ceiling without jitter', () => {
    assert.deepEqual([0, 1, 2, 10].map((n) => exponential(n, { baseMs: 500, maxMs: 8000 })), [500, 1000, 2000, 8000]);
  });
});
