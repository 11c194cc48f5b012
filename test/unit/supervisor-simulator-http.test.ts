import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyOf, matchPath, nonEmptyString, parseBody, recordedQuery, toInt, truthy } from '../../src/sim/supervisor/http.js';
import { unitMatcher } from '../../src/sim/supervisor/journal.js';

describe('simulator request parsing (CONTRACT §2.1)', () => {
  it('coerces booleans like the supervisor', () => {
    for (const yes of [true, 1, 'true', 'TRUE', '1', 'on', 'On']) assert.equal(truthy(yes), true, String(yes));
    for (const no of [false, 0, 'false', '0', 'off', 'yes', ' true', undefined, null, {}]) assert.equal(truthy(no), false, JSON.stringify(no));
  });

  it('coerces integers like checkInt: digits, a sign, trailing zero decimals; nothing else', () => {
    const inputs = [12, '12', '-3', '12.0', 12.0, ' 7 ', 1.5, '1.5', 'x', undefined, null, true, '1e3', ''];
    const wanted = [12, 12, -3, 12, 12, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
    assert.deepEqual(inputs.map(toInt), wanted);
  });

  it('checks strings like checkString: "", "null" and "undefined" are missing', () => {
    assert.deepEqual(['main', '', 'null', 'undefined', 3, undefined].map(nonEmptyString), ['main', undefined, undefined, undefined, undefined, undefined]);
  });

  it('parses JSON and urlencoded bodies only; others are recorded but not read', () => {
    assert.deepEqual(parseBody('application/json; charset=utf-8', '{"appId":1}').fields, { appId: 1 });
    assert.deepEqual(parseBody('application/x-www-form-urlencoded', 'appId=1&force=on').fields, { appId: '1', force: 'on' });
    const plain = parseBody('text/plain', '{"appId":1}');
    assert.deepEqual(plain.fields, {});
    assert.equal(plain.recorded, '{"appId":1}');
    assert.deepEqual(parseBody(undefined, '{"appId":1}').fields, {});
    assert.equal(parseBody('application/json', '{oops').invalid, true);
    assert.equal(parseBody('application/json', '').recorded, undefined);
  });

  it('parses JSON strictly: only an object or an array at the top, and says why it refused', () => {
    for (const text of ['"x"', '5', 'null', 'true']) {
      const parsed = parseBody('application/json', text);
      assert.equal(parsed.invalid, true, text);
      assert.match(parsed.problem ?? '', /^Unexpected token/, text);
    }
    assert.deepEqual(parseBody('application/json', '["a"]'), { fields: ['a'], recorded: ['a'], invalid: false });
    assert.ok((parseBody('application/json', '{oops').problem ?? '').length > 0, 'a parse error says why');
  });

  it('reads the key from ?apikey= first, then Bearer or ApiKey (any case)', () => {
    const q = new URLSearchParams('apikey=fromquery');
    assert.deepEqual(keyOf(q, { authorization: 'Bearer fromheader' }, true), { key: 'fromquery', kind: 'query' });
    assert.deepEqual(keyOf(new URLSearchParams(), { authorization: 'bearer abc123' }, true), { key: 'abc123', kind: 'bearer' });
    assert.deepEqual(keyOf(new URLSearchParams(), { authorization: 'APIKEY abc123' }, true), { key: 'abc123', kind: 'apikey-scheme' });
    assert.deepEqual(keyOf(new URLSearchParams(), { authorization: 'Basic abc' }, true), { key: undefined, kind: 'none' });
    assert.deepEqual(keyOf(new URLSearchParams(), { authorization: 'Bearer a-b' }, true), { key: undefined, kind: 'bearer' });
    assert.deepEqual(keyOf(new URLSearchParams(), { authorization: 'Bearer abc' }, false), { key: undefined, kind: 'bearer' }, 'header ignored before 11.3.0');
  });

  it('an empty or repeated ?apikey= is no key: the header is read instead', () => {
    assert.deepEqual(keyOf(new URLSearchParams('apikey='), { authorization: 'Bearer abc' }, true), { key: 'abc', kind: 'bearer' });
    assert.deepEqual(keyOf(new URLSearchParams('apikey=a&apikey=b'), { authorization: 'ApiKey abc' }, true), { key: 'abc', kind: 'apikey-scheme' });
    assert.deepEqual(keyOf(new URLSearchParams('apikey=a&apikey=b'), {}, true), { key: undefined, kind: 'none' });
  });

  it('the header takes exactly one space between scheme and key', () => {
    assert.deepEqual(keyOf(new URLSearchParams(), { authorization: 'Bearer  abc' }, true), { key: undefined, kind: 'bearer' });
    assert.deepEqual(keyOf(new URLSearchParams(), { authorization: 'Bearer abc ' }, true), { key: undefined, kind: 'bearer' });
  });

  it('hides the key in recorded queries and matches path patterns', () => {
    assert.deepEqual(recordedQuery(new URLSearchParams('apikey=secret&x=1')), { apikey: '[redacted]', x: '1' });
    assert.deepEqual(matchPath('/v2/applications/:appId/stop-service', '/v2/applications/12/stop-service'), { appId: '12' });
    assert.equal(matchPath('/v2/applications/:appId/stop-service', '/v2/applications//stop-service'), undefined);
    assert.equal(matchPath('/v1/device', '/v1/device/x'), undefined);
  });
});

describe('simulated journalctl -u', () => {
  it('mangles a name without a unit type to NAME.service and reads globs', () => {
    const cases: Array<[string, string, boolean]> = [
      ['balena-supervisor', 'balena-supervisor.service', true],
      ['balena-supervisor.service', 'balena-supervisor.service', true],
      ['balena-supervisor', 'balena-supervisor.socket', false],
      ['chronyd.timer', 'chronyd.timer', true],
      ['foo.bar', 'foo.bar.service', true],
      ['balena*', 'balena-supervisor.service', true],
      ['balena*', 'os-config.service', false],
      ['os-?onfig.service', 'os-config.service', true],
      ['a.b', 'aXb.service', false],
    ];
    for (const [name, unit, want] of cases) assert.equal(unitMatcher(name)(unit), want, `${name} vs ${unit}`);
  });
});
