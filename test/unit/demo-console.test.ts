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
    ['crash main', { kind: 'crash', service: 'main', loop: false }],
    [' CRASH  My-Api ', { kind: 'crash', service: 'My-Api', loop: false }],
    ['crashloop fleet-agent', { kind: 'crash', service: 'fleet-agent', loop: true }],
    ['hang main', { kind: 'hang', service: 'main', silent: false }],
    ['hang main SILENT', { kind: 'hang', service: 'main', silent: true }],
    ['heal svc_2.a', { kind: 'heal', service: 'svc_2.a' }],
    ['updating on', { kind: 'updating', on: true }],
    ['Updating OFF', { kind: 'updating', on: false }],
    ['crash', { error: 'crash takes one service name (letters, digits, . _ -), e.g. crash main' }],
    ['crash main now', { error: 'crash takes one service name (letters, digits, . _ -), e.g. crash main' }],
    ['crashloop a/b', { error: 'crashloop takes one service name (letters, digits, . _ -), e.g. crashloop main' }],
    ['heal -x', { error: 'heal takes one service name (letters, digits, . _ -), e.g. heal main' }],
    ['hang', { error: 'hang takes a service name and optionally silent, e.g. hang main or hang main silent' }],
    ['hang main loudly', { error: 'hang takes a service name and optionally silent, e.g. hang main or hang main silent' }],
    ['hang main silent now', { error: 'hang takes a service name and optionally silent, e.g. hang main or hang main silent' }],
    ['updating', { error: 'updating takes on or off, e.g. updating on' }],
    ['updating maybe', { error: 'updating takes on or off, e.g. updating on' }],
    ['updating on now', { error: 'updating takes on or off, e.g. updating on' }],
    ['crashed main', { error: 'unknown switch "crashed main"; type help' }],
  ];
  for (const [line, want] of table) it(JSON.stringify(line), () => assert.deepEqual(parseSwitch(line), want));
});
