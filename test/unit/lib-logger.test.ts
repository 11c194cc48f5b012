import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, scrub, type Logger } from '../../src/lib/logger.js';

const SECRET = 'sUp3rS3cretValue42';
const QUERY_KEY = 'querykey0123abc';

/** A logger writing into an array of parsed lines, with a fixed wall clock. */
function capture(level: 'debug' | 'info' = 'info'): { log: Logger; lines: Array<Record<string, unknown>>; raw: () => string } {
  const chunks: string[] = [];
  const log = createLogger({ level, secrets: [SECRET], wall: () => Date.UTC(2026, 0, 2, 3, 4, 5), destination: { write: (s: string) => void chunks.push(s) } });
  return {
    log,
    get lines() {
      return chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    raw: () => chunks.join(''),
  };
}

describe('createLogger redaction', () => {
  it('hides a secret value and an apikey= in a message', () => {
    const out = capture();
    out.log.info(`calling http://10.114.104.1:48484/v1/blink?apikey=${QUERY_KEY}&x=1 with ${SECRET}`);
    out.log.info('key is %s', SECRET);
    const raw = out.raw();
    assert.ok(!raw.includes(SECRET) && !raw.includes(QUERY_KEY), raw);
    assert.equal(out.lines[0]?.msg, 'calling http://10.114.104.1:48484/v1/blink?apikey=[redacted]&x=1 with [redacted]');
    assert.equal(out.lines[1]?.msg, 'key is [redacted]');
  });

  it('hides them in an error logged under err, keeping type and code', () => {
    const out = capture();
    const err = Object.assign(new Error(`refused ${SECRET} on /v2/version?apikey=${QUERY_KEY}`), { code: 'UNAUTHORIZED' });
    out.log.error({ err }, 'supervisor call failed');
    const raw = out.raw();
    assert.ok(!raw.includes(SECRET) && !raw.includes(QUERY_KEY), raw);
    assert.deepEqual(out.lines[0]?.err, { type: 'Error', message: 'refused [redacted] on /v2/version?apikey=[redacted]', code: 'UNAUTHORIZED' });
  });

  it('hides them in an error logged on its own (message taken from the error)', () => {
    const out = capture();
    out.log.error(new Error(`boom ${SECRET} ?apikey=${QUERY_KEY}`));
    out.log.warn(new Error(`again ${SECRET}`), 'with a message %s', SECRET);
    out.log.error({ err: new Error(`nested ${SECRET}`) });
    const raw = out.raw();
    assert.ok(!raw.includes(SECRET) && !raw.includes(QUERY_KEY), raw);
    assert.equal((out.lines[0]?.err as { message?: string } | undefined)?.message, 'boom [redacted] ?apikey=[redacted]');
    assert.equal(out.lines[0]?.msg, 'boom [redacted] ?apikey=[redacted]');
    assert.equal(out.lines[1]?.msg, 'with a message [redacted]');
    assert.equal(out.lines[2]?.msg, 'nested [redacted]');
  });

  it('hides them in top-level string fields (a URL logged as a field)', () => {
    const out = capture();
    out.log.info({ url: `http://sup/v1/device?apikey=${QUERY_KEY}`, note: `has ${SECRET}`, count: 3 }, 'request');
    const raw = out.raw();
    assert.ok(!raw.includes(SECRET) && !raw.includes(QUERY_KEY), raw);
    assert.deepEqual([out.lines[0]?.url, out.lines[0]?.count], ['http://sup/v1/device?apikey=[redacted]', 3]);
  });

  it('hides secret-named fields by path, at the top and one level down', () => {
    const out = capture();
    out.log.info({ apiKey: 'a1', token: 't1', headers: { authorization: 'Bearer h1' }, env: { BALENA_SUPERVISOR_API_KEY: 'e1' }, target: { key: 'k1' } }, 'fields');
    const line = out.lines[0] ?? {};
    assert.deepEqual([line.apiKey, line.token, (line.headers as Record<string, unknown>).authorization], ['[redacted]', '[redacted]', '[redacted]']);
    assert.equal((line.env as Record<string, unknown>).BALENA_SUPERVISOR_API_KEY, '[redacted]');
    assert.equal((line.target as Record<string, unknown>).key, '[redacted]');
  });

  it('writes JSON lines with the level label and the injected time; respects the level', () => {
    const out = capture('info');
    out.log.debug('not shown');
    out.log.info('shown');
    assert.deepEqual(out.lines, [{ level: 'info', time: '2026-01-02T03:04:05.000Z', msg: 'shown' }]);
  });
});

describe('scrub', () => {
  it('hides apikey= values in any case, up to &, #, space or quote, and every literal secret', () => {
    assert.equal(scrub('/a?APIKEY=abc#f and &apikey=def"x', []), '/a?APIKEY=[redacted]#f and &apikey=[redacted]"x');
    assert.equal(scrub(`x ${SECRET} y ${SECRET}`, [SECRET]), 'x [redacted] y [redacted]');
  });

  it('ignores secrets shorter than 4 characters (they would blank ordinary words)', () => {
    assert.equal(scrub('abc', ['abc']), 'abc');
  });
});
