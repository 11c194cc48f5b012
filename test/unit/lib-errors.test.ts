import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError, UnreachableError, UpdatesLockedError, codeForStatus, describe as describeError, isTransient, summariseBody } from '../../src/lib/errors.js';

describe('codeForStatus', () => {
  it('maps each documented status to its stable code', () => {
    const table: Array<[number, string]> = [
      [400, 'BAD_REQUEST'],
      [401, 'UNAUTHORIZED'],
      [403, 'FORBIDDEN'],
      [404, 'NOT_FOUND'],
      [409, 'CONFLICT'],
      [413, 'TOO_LARGE'],
      [423, 'LOCKED'],
      [429, 'RATE_LIMITED'],
    ];
    for (const [status, code] of table) assert.equal(codeForStatus(status), code, String(status));
  });

  it('every 5xx is SERVER_ERROR; any other status is HTTP_STATUS', () => {
    for (const status of [500, 502, 503, 504, 599]) assert.equal(codeForStatus(status), 'SERVER_ERROR', String(status));
    for (const status of [302, 405, 408, 418, 422]) assert.equal(codeForStatus(status), 'HTTP_STATUS', String(status));
  });
});

describe('summariseBody', () => {
  it('is empty for an empty or blank body', () => {
    assert.equal(summariseBody(''), '');
    assert.equal(summariseBody(' \n\t '), '');
  });

  it('takes message, then Error, then error from a JSON object', () => {
    assert.equal(summariseBody('{"status":"failed","message":"Lockfile exists"}'), 'Lockfile exists');
    assert.equal(summariseBody('{"Data":"","Error":"Waiting for Host OS update to finish"}'), 'Waiting for Host OS update to finish');
    assert.equal(summariseBody('{"error":"bad token"}'), 'bad token');
    assert.equal(summariseBody('{"message":"first","Error":"second"}'), 'first');
  });

  it('falls back to the text when no field is a non-empty string', () => {
    assert.equal(summariseBody('{"Data":"OK","Error":null}'), '{"Data":"OK","Error":null}');
    assert.equal(summariseBody('{"message":42}'), '{"message":42}');
    assert.equal(summariseBody('["a"]'), '["a"]');
  });

  it('collapses whitespace of a text body and keeps at most 300 characters', () => {
    assert.equal(summariseBody('  Service not found,\n\ta container  must exist '), 'Service not found, a container must exist');
    assert.equal(summariseBody('x'.repeat(1000)).length, 300);
    assert.equal(summariseBody(JSON.stringify({ message: 'y'.repeat(1000) })).length, 300);
  });
});

describe('HttpError and friends', () => {
  it('HttpError keeps status, code, body and Retry-After, and says who answered what', () => {
    const err = new HttpError({ peer: 'supervisor', status: 503, method: 'POST', path: '/v1/restart', body: '{"status":"failed","message":"busy"}', retryAfterMs: 3_000 });
    assert.deepEqual([err.code, err.status, err.retryAfterMs], ['SERVER_ERROR', 503, 3_000]);
    assert.equal(err.message, 'supervisor answered 503 to POST /v1/restart: busy');
    assert.equal(new HttpError({ peer: 'cloud', status: 500, method: 'GET', path: '/x', body: 'z'.repeat(5000) }).body.length, 4096);
  });

  it('UpdatesLockedError is LOCKED with the lock message', () => {
    const err = new UpdatesLockedError({ peer: 'supervisor', status: 423, method: 'POST', path: '/v1/reboot', body: '', lockMessage: 'Lockfile exists for { appId: 1 }' });
    assert.deepEqual([err.code, err.lockMessage, err.message], ['LOCKED', 'Lockfile exists for { appId: 1 }', 'update lock held: Lockfile exists for { appId: 1 }']);
  });

  it('isTransient: network trouble, 408, 429 and 5xx; not a cancel, not other 4xx', () => {
    const http = (status: number) => new HttpError({ peer: 'cloud', status, method: 'GET', path: '/', body: '' });
    assert.equal(isTransient(new UnreachableError('cloud', 'UNREACHABLE', 'down')), true);
    assert.equal(isTransient(new UnreachableError('cloud', 'TIMEOUT', 'slow')), true);
    assert.equal(isTransient(new UnreachableError('cloud', 'ABORTED', 'cancelled')), false);
    assert.deepEqual([408, 429, 500, 503, 400, 401, 404, 423].map((s) => isTransient(http(s))), [true, true, true, true, false, false, false, false]);
    assert.equal(isTransient(new Error('x')), false);
  });

  it('UnreachableError may have arrived unless told otherwise', () => {
    assert.equal(new UnreachableError('supervisor', 'UNREACHABLE', 'x').mayHaveArrived, true);
    assert.equal(new UnreachableError('supervisor', 'UNREACHABLE', 'x', { mayHaveArrived: false }).mayHaveArrived, false);
  });

  it('describe gives the first line of a message, or the string form', () => {
    assert.equal(describeError(new Error('one\ntwo')), 'one');
    assert.equal(describeError('plain'), 'plain');
  });
});
