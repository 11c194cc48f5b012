import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSwitch } from '../../src/sim/demo-console.js';

describe('the demo console reads its switches', () => {
  const table: Array<[string, unknown]> = [
    ['lock', { kind: 'lock', held: true }],
    [' UNLOCK ', { kind: 'lock', held: false }],
    ['429', { kind: 'rate-limit', count: 3, retryAfterSeconds: 30 }],
    ['429 5', { kind: 'rate-limit', count: 5, retryAfterSeconds: 30 }],
    ['429 1 120', { kind: 'rate-limit', count: 1, retryAfterSeconds: 120 }],
    ['cloud down', { kind: 'down', peer: 'cloud', down: true }],
    ['supervisor up', { kind: 'down', peer: 'supervisor', down: false }],
    ['help', { kind: 'help' }],
    ['limit', { kind: 'limit', points: 5, windowSeconds: 60 }],
    ['limit 20 10', { kind: 'limit', points: 20, windowSeconds: 10 }],
    ['limit off', { kind: 'limit', points: null, windowSeconds: 60 }],
    ['limit 0', { error: 'limit takes a count (1–1000) and a window in seconds (1–3600), e.g. limit 5 60; or limit off' }],
    ['limit off 10', { error: 'limit takes a count (1–1000) and a window in seconds (1–3600), e.g. limit 5 60; or limit off' }],
    ['429 0', { error: '429 takes a count (1–1000) and Retry-After seconds (1–3600), e.g. 429 3 30' }],
    ['429 many', { error: '429 takes a count (1–1000) and Retry-After seconds (1–3600), e.g. 429 3 30' }],
    ['429 1 2 3', { error: 'unknown switch "429 1 2 3"; type help' }],
    ['lock now', { error: 'unknown switch "lock now"; type help' }],
    ['cloud sideways', { error: 'unknown switch "cloud sideways"; type help' }],
    ['reboot', { error: 'unknown switch "reboot"; type help' }],
  ];
  for (const [line, want] of table) it(JSON.stringify(line), () => assert.deepEqual(parseSwitch(line), want));
});
