import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ODataParsingError,
  ODataSyntaxError,
  ODataUnsupportedError,
  parseRequest,
  type Expr,
  type QueryOptions,
  type ResourcePath,
} from '../../src/sim/cloud/odata.js';
import { runQuery, type Graph, type Navigation, type Row } from '../../src/sim/cloud/odata-eval.js';

/** A tiny two-table model: device 1..n, device_tag linked by `device`. */
function graphOf(devices: Row[], tags: Row[]): Graph {
  const tables: Record<string, Row[]> = { device: devices, device_tag: tags };
  const navs: Record<string, Record<string, Navigation>> = {
    device: { device_tag: { target: 'device_tag', kind: 'many', via: 'device' } },
    device_tag: { device: { target: 'device', kind: 'one', via: 'device' } },
  };
  const fields: Record<string, string[]> = { device: ['id', 'uuid', 'device_name', 'is_online'], device_tag: ['id', 'tag_key', 'value'] };
  return {
    fields: (r) => fields[r],
    navigation: (r, n) => navs[r]?.[n],
    related: (_r, row, nav) =>
      nav.kind === 'one'
        ? (tables[nav.target] ?? []).filter((t) => t['id'] === row[nav.via])
        : (tables[nav.target] ?? []).filter((t) => t[nav.via] === row['id']),
  };
}

const devices: Row[] = [
  { id: 1, uuid: 'aaa', device_name: 'one', is_online: true },
  { id: 2, uuid: 'bbb', device_name: "o'two", is_online: false },
];
const tags: Row[] = [
  { id: 10, device: 1, tag_key: 'agent.mode', value: 'x y' },
  { id: 11, device: 1, tag_key: 'location', value: 'lab' },
  { id: 12, device: 2, tag_key: 'agent.mode', value: 'z' },
];
const graph = graphOf(devices, tags);
const parseQuery = (raw: string): QueryOptions => parseRequest('device', raw).options;
const parseResourcePath = (rest: string): ResourcePath => parseRequest(rest, '').path;
const q = (resource: string, raw: string): Record<string, unknown>[] => runQuery(graph, resource, resource === 'device' ? devices : tags, parseQuery(raw));
const ids = (rows: Record<string, unknown>[]): unknown[] => rows.map((r) => r['id']);

describe('OData parser', () => {
  it('parses keys: id, uuid, natural key, $count', () => {
    assert.deepEqual(parseResourcePath('device(5)'), { resource: 'device', key: 5, count: false });
    assert.deepEqual(parseResourcePath("device(uuid='abc')"), { resource: 'device', key: { uuid: 'abc' }, count: false });
    assert.deepEqual(parseResourcePath('device(uuid=%27abc%27)'), { resource: 'device', key: { uuid: 'abc' }, count: false });
    assert.deepEqual(parseResourcePath("device_tag(device=1,tag_key='k')"), { resource: 'device_tag', key: { device: 1, tag_key: 'k' }, count: false });
    assert.deepEqual(parseResourcePath('device/$count'), { resource: 'device', count: true });
  });

  it('rejects percent-encoded OData syntax, as pine does', () => {
    for (const raw of ['$select=id%2Cuuid', '$filter=device%2Fuuid eq 1', '$expand=device_tag%28$select=id%29', "$filter=device/any(d%3Ad/uuid eq 'x')"]) {
      assert.throws(() => parseQuery(raw), ODataSyntaxError, raw);
    }
  });

  it('accepts %20 or + for spaces, %27 for quotes and %24 for $', () => {
    const a = parseQuery("$filter=uuid%20eq%20%27aaa%27").filter;
    const b = parseQuery("%24filter=uuid+eq+'aaa'").filter;
    const expected: Expr = { kind: 'cmp', op: 'eq', left: { kind: 'path', path: ['uuid'] }, right: { kind: 'lit', value: 'aaa' } };
    assert.deepEqual(a, expected);
    assert.deepEqual(b, expected);
  });

  it('decodes string literals, including encoded syntax and doubled quotes inside them', () => {
    const f = parseQuery("$filter=value eq 'a%2Fb%2C(c)%20''d'''").filter;
    assert.deepEqual(f, { kind: 'cmp', op: 'eq', left: { kind: 'path', path: ['value'] }, right: { kind: 'lit', value: "a/b,(c) 'd'" } });
  });

  it('parses nested $expand options separated by ;', () => {
    const options = parseQuery(
      "$select=id&$expand=device_tag($select=tag_key,value;$filter=startswith(tag_key,'agent.');$orderby=tag_key desc;$top=1),belongs_to__application($select=id;$expand=application_tag($select=value))",
    );
    assert.deepEqual(options.select, ['id']);
    const [tagsItem, app] = options.expand ?? [];
    assert.equal(tagsItem?.name, 'device_tag');
    assert.deepEqual(tagsItem?.options.select, ['tag_key', 'value']);
    assert.equal(tagsItem?.options.top, 1);
    assert.deepEqual(tagsItem?.options.orderby, [{ path: ['tag_key'], dir: 'desc' }]);
    assert.equal(app?.options.expand?.[0]?.name, 'application_tag');
  });

  it('ignores other parameters and $count/$format/$inlinecount, but they must still parse', () => {
    assert.deepEqual(parseQuery('apikey=abc%2Bdef&$top=2'), { top: 2 });
    assert.deepEqual(parseQuery('$select=id&$count=true&$format=json&$inlinecount=allpages'), { select: ['id'] });
    // pine parses the whole URL: a parameter value holding OData syntax is malformed too...
    for (const raw of ['foo=a,b', 'foo=a+b', 'foo', '$top=1&']) assert.throws(() => parseQuery(raw), ODataSyntaxError, raw);
    // ...and a bad percent-escape anywhere fails its decoding: a 500, not a 400.
    for (const raw of ['foo=%zz&$select=id', "$filter=value eq '100%'"]) assert.throws(() => parseQuery(raw), ODataParsingError, raw);
  });

  it('rejects unknown options, trailing text and a missing operand', () => {
    for (const raw of ['$foo=1', '$top=1 2', '$top=-1', '$filter=uuid eq']) {
      assert.throws(() => parseQuery(raw), ODataSyntaxError, raw);
    }
    assert.throws(() => parseResourcePath('device(1)/$count'), ODataSyntaxError);
  });

  it("reads an unterminated string as a field name, as the real parser does (a field the model lacks)", () => {
    assert.deepEqual(parseQuery("$filter=uuid eq 'x").filter, { kind: 'cmp', op: 'eq', left: { kind: 'path', path: ['uuid'] }, right: { kind: 'path', path: ["'x"] } });
    assert.throws(() => q('device', "$filter=uuid eq 'x"), ODataSyntaxError);
  });

  it('reads OData as the real parser does: and/or share one precedence, not binds its operand, $orderby defaults to desc', () => {
    const path = (name: string): Expr => ({ kind: 'path', path: [name] });
    const eq = (name: string, value: number): Expr => ({ kind: 'cmp', op: 'eq', left: path(name), right: { kind: 'lit', value } });
    assert.deepEqual(parseQuery('$filter=a eq 1 or b eq 2 and c eq 3').filter, {
      kind: 'and',
      left: { kind: 'or', left: eq('a', 1), right: eq('b', 2) },
      right: eq('c', 3),
    });
    assert.deepEqual(parseQuery('$filter=not a eq 1').filter, { kind: 'cmp', op: 'eq', left: { kind: 'not', expr: path('a') }, right: { kind: 'lit', value: 1 } });
    assert.deepEqual(parseQuery('$orderby=a,b asc').orderby, [{ path: ['a'], dir: 'desc' }, { path: ['b'], dir: 'asc' }]);
    assert.deepEqual(parseQuery('$filter=id in (1, null)').filter, { kind: 'in', left: path('id'), values: [1, null] });
    assert.deepEqual(parseQuery('$select=*'), {});
  });

  it('resolves parameter aliases; with aliases pine decodes the rest of the query first, as it does', () => {
    assert.deepEqual(parseRequest('device(uuid=@u)', "@u='aaa'").path, { resource: 'device', key: { uuid: 'aaa' }, count: false });
    assert.deepEqual(parseQuery("$filter=uuid eq @u&@u='a%2Cb'").filter, { kind: 'cmp', op: 'eq', left: { kind: 'path', path: ['uuid'] }, right: { kind: 'lit', value: 'a,b' } });
    assert.deepEqual(parseQuery("$select=id%2Cuuid&@u='x'").select, ['id', 'uuid']);
  });

  it('refuses, as the simulator lacking it, OData the real API serves', () => {
    for (const raw of ['$filter=id add 1 eq 2', '$filter=device_tag/$count gt 1', "$filter=created_at gt duration'P1D'", '$select=device_tag/id']) {
      assert.throws(() => parseQuery(raw), ODataUnsupportedError, raw);
    }
    assert.throws(() => parseResourcePath('device(1)/device_tag'), ODataUnsupportedError);
    assert.throws(() => q('device', "$filter=concat(uuid,'x') eq 'aaax'"), ODataUnsupportedError);
  });
});

describe('OData evaluator', () => {
  it('filters with comparison, and/or/not and parentheses', () => {
    assert.deepEqual(ids(q('device', "$filter=uuid eq 'aaa'")), [1]);
    assert.deepEqual(ids(q('device', "$filter=uuid ne 'aaa'")), [2]);
    assert.deepEqual(ids(q('device', '$filter=id gt 1')), [2]);
    assert.deepEqual(ids(q('device', '$filter=id le 1 or is_online eq false')), [1, 2]);
    assert.deepEqual(ids(q('device', '$filter=not (id eq 1) and is_online eq false')), [2]);
    assert.deepEqual(ids(q('device', "$filter=device_name eq 'o''two'")), [2]);
    assert.deepEqual(ids(q('device', '$filter=id in (2, 3)')), [2]);
  });

  it('filters through navigation and lambdas', () => {
    assert.deepEqual(ids(q('device_tag', "$filter=device/uuid eq 'bbb'")), [12]);
    assert.deepEqual(ids(q('device_tag', "$filter=device/any(d:d/uuid eq 'aaa') and tag_key eq 'location'")), [11]);
    assert.deepEqual(ids(q('device_tag', '$filter=device eq 2')), [12]);
    assert.deepEqual(ids(q('device', "$filter=device_tag/any(t:t/value eq 'lab')")), [1]);
    assert.deepEqual(ids(q('device', "$filter=device_tag/all(t:startswith(t/tag_key,'agent.'))")), [2]);
  });

  it('orders, skips and tops', () => {
    assert.deepEqual(ids(q('device_tag', '$orderby=tag_key asc,id desc')), [12, 10, 11]);
    assert.deepEqual(ids(q('device_tag', '$orderby=id desc&$skip=1&$top=1')), [11]);
  });

  it('projects $select, shows unexpanded links as {__id} and expands with nested options', () => {
    assert.deepEqual(q('device_tag', '$select=tag_key,device&$filter=id eq 10'), [{ tag_key: 'agent.mode', device: { __id: 1 } }]);
    const rows = q('device', "$select=uuid&$filter=id eq 1&$expand=device_tag($select=tag_key;$filter=startswith(tag_key,'agent.'))");
    assert.deepEqual(rows, [{ uuid: 'aaa', device_tag: [{ tag_key: 'agent.mode' }] }]);
    const back = q('device_tag', '$select=id&$filter=id eq 12&$expand=device($select=uuid)');
    assert.deepEqual(back, [{ id: 12, device: [{ uuid: 'bbb' }] }]);
    assert.deepEqual(q('device', '$select=id&$expand=device_tag/$count'), [{ id: 1, device_tag: 2 }, { id: 2, device_tag: 1 }]);
  });

  it('rejects unknown fields and selecting a to-many navigation', () => {
    assert.throws(() => q('device', '$select=nope'), ODataSyntaxError);
    assert.throws(() => q('device', '$filter=nope eq 1'), ODataSyntaxError);
    assert.throws(() => q('device', '$select=device_tag'), ODataSyntaxError);
    assert.throws(() => q('device', '$expand=nope'), ODataSyntaxError);
  });
});
