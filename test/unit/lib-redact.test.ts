import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactBearer, redactDeep, redactor, redactUrl } from '../../src/lib/redact.js';

const KEY = 'redact-key-0123456789SECRET';
const TOKEN = 'token-0123456789abcdef';

describe('redactor', () => {
  const hide = redactor([KEY, TOKEN, undefined, null, 'abc']);

  it('hides every secret it knows, wherever and however often it appears', () => {
    assert.equal(hide(`key ${KEY} and again ${KEY}; token=${TOKEN}`), 'key [redacted] and again [redacted]; token=[redacted]');
  });

  it('hides a secret as it appears URL-encoded', () => {
    const odd = 'odd key/with+chars';
    assert.equal(redactor([odd])(`/v1/x?other=${encodeURIComponent(odd)}`), '/v1/x?other=[redacted]');
  });

  it('hides any apikey= value and any Bearer credential, even of secrets it does not know', () => {
    assert.equal(hide('GET /v1/device?apikey=someotherkey&x=1 failed'), 'GET /v1/device?apikey=[redacted]&x=1 failed');
    assert.equal(hide('echo: authorization: Bearer abc.def-ghi_123'), 'echo: authorization: Bearer [redacted]');
    assert.equal(hide('bearer xyz'), 'bearer [redacted]');
  });

  it('leaves ordinary text alone, including secrets too short to hide by value and placeholder words', () => {
    assert.equal(hide('abc is fine; send Authorization: Bearer <AGENT_HTTP_TOKEN>'), 'abc is fine; send Authorization: Bearer <AGENT_HTTP_TOKEN>');
    assert.equal(redactor([])('nothing to hide'), 'nothing to hide');
  });

  it('hides a secret that contains another one whole', () => {
    assert.equal(redactor(['abcd', 'xxabcdxx'])('xxabcdxx'), '[redacted]');
  });

  it('redactUrl and redactBearer each hide one kind', () => {
    assert.equal(redactUrl('{"url":"/p?apikey=abc","n":1}'), '{"url":"/p?apikey=[redacted]","n":1}');
    assert.equal(redactBearer('Bearer abc'), 'Bearer [redacted]');
  });
});

describe('redactDeep', () => {
  it('passes every string of a JSON-like value through the redactor, keys included, and keeps the rest', () => {
    const hide = redactor([KEY]);
    const doc = { a: `x ${KEY}`, n: 3, ok: true, none: null, list: [`${KEY}`, 1], nested: { [KEY]: { b: `apikey=${KEY}` } } };
    assert.deepEqual(redactDeep(doc, hide), {
      a: 'x [redacted]', n: 3, ok: true, none: null, list: ['[redacted]', 1], nested: { '[redacted]': { b: 'apikey=[redacted]' } },
    });
    assert.equal(doc.a, `x ${KEY}`, 'the original is not changed');
  });
});
