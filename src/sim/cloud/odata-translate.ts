/**
 * Turns the tree and binds of `@balena/odata-parser` into the simulator's request model: bound
 * values become literals, `and`/`or` chains become binary nodes, and what the parser accepts but
 * the simulator does not implement is refused with ODataUnsupportedError.
 */
import type { ODataBinds, ODataOptions, ODataQuery } from '@balena/odata-parser';
import {
  ODataUnsupportedError,
  type CompareOp,
  type ExpandItem,
  type Expr,
  type Literal,
  type OrderTerm,
  type ParsedRequest,
  type QueryOptions,
  type ResourcePath,
} from './odata-ast.js';

type Node = Readonly<Record<string, unknown>>;

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(['eq', 'ne', 'gt', 'lt', 'ge', 'le']);

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unsupported(what: string): never {
  throw new ODataUnsupportedError(what);
}

/** A `[type, value]` bind as the simulator's rows hold it (dates as ISO strings); lists stay lists. */
function valueOf(bound: unknown): Literal | Literal[] {
  if (!Array.isArray(bound)) return unsupported('a parameter alias without a value');
  const [type, value] = bound as [unknown, unknown];
  switch (type) {
    case 'Real':
    case 'Integer':
    case 'Text':
    case 'Boolean':
      return value as Literal;
    case 'Null':
      return null;
    case 'Date':
    case 'Date Time':
      return new Date(value as number).toISOString();
    case 'List':
      return (value as unknown[]).map((item) => scalarOf(valueOf(item)));
    default:
      return unsupported(`a ${String(type)} value`);
  }
}

/** The value a `{ bind }` reference (a position or an `@alias`) points at. */
function bindValue(binds: ODataBinds, ref: unknown): Literal | Literal[] {
  const key = isNode(ref) ? ref['bind'] : undefined;
  if (typeof key === 'number') return valueOf(binds[key]);
  return valueOf(typeof key === 'string' ? binds[key as `@${string}`] : undefined);
}

function scalarOf(value: Literal | Literal[]): Literal {
  return Array.isArray(value) ? unsupported('a list outside "in (…)"') : value;
}

/** The names along a property path (`a/b/c`), refusing keys, `$count` and method calls on it. */
function pathNames(node: Node, what: string): string[] {
  const names: string[] = [];
  let cur: unknown = node;
  while (isNode(cur)) {
    if (cur['key'] !== undefined) unsupported(`a key predicate in ${what}`);
    if (cur['count'] !== undefined) unsupported(`/$count in ${what}`);
    if (cur['method'] !== undefined) unsupported(`a method call on a navigation in ${what}`);
    names.push(String(cur['name']));
    if (cur['lambda'] !== undefined) break;
    cur = cur['property'];
  }
  return names;
}

function lastOf(node: Node): Node {
  let cur = node;
  while (isNode(cur['property'])) cur = cur['property'];
  return cur;
}

function foldBinary(kind: 'and' | 'or', operands: readonly unknown[], binds: ODataBinds): Expr {
  const [first, ...rest] = operands.map((operand) => toExpr(operand, binds));
  if (first === undefined) return unsupported(`an empty "${kind}"`);
  return rest.reduce<Expr>((left, right) => ({ kind, left, right }), first);
}

function arrayExpr(node: readonly unknown[], binds: ODataBinds): Expr {
  const [op, ...args] = node;
  if (typeof op === 'string' && COMPARE_OPS.has(op)) {
    return { kind: 'cmp', op: op as CompareOp, left: toExpr(args[0], binds), right: toExpr(args[1], binds) };
  }
  switch (op) {
    case 'and':
    case 'or':
      return foldBinary(op, args, binds);
    case 'not':
      return { kind: 'not', expr: toExpr(args[0], binds) };
    case 'eqany': {
      const values = bindValue(binds, args[1]);
      return { kind: 'in', left: toExpr(args[0], binds), values: Array.isArray(values) ? values : [values] };
    }
    case 'call': {
      const call = isNode(args[0]) ? args[0] : {};
      const callArgs = Array.isArray(call['args']) ? (call['args'] as unknown[]) : [];
      return { kind: 'call', name: String(call['method']), args: callArgs.map((a) => toExpr(a, binds)) };
    }
    default:
      return unsupported(`the "${String(op)}" operator`);
  }
}

/** One `$filter` node. */
function toExpr(node: unknown, binds: ODataBinds): Expr {
  if (node === null) return { kind: 'lit', value: null };
  if (Array.isArray(node)) return arrayExpr(node, binds);
  if (!isNode(node)) return unsupported('this $filter value');
  if ('bind' in node) return { kind: 'lit', value: scalarOf(bindValue(binds, node)) };
  if (typeof node['name'] !== 'string') return unsupported('a duration');
  const path = pathNames(node, '$filter');
  const lambda = lastOf(node)['lambda'];
  if (!isNode(lambda)) return { kind: 'path', path };
  return {
    kind: 'lambda',
    fn: lambda['method'] === 'all' ? 'all' : 'any',
    path,
    alias: String(lambda['identifier']),
    expr: toExpr(lambda['expression'], binds),
  };
}

function countOf(ref: unknown, binds: ODataBinds): number {
  const value = scalarOf(bindValue(binds, ref));
  return typeof value === 'number' ? value : unsupported('a non-numeric $top/$skip');
}

function plainNames(properties: readonly Node[], what: string): string[] {
  return properties.map((p) => {
    const names = pathNames(p, what);
    return names.length === 1 && names[0] !== undefined ? names[0] : unsupported(`a path in ${what}`);
  });
}

function expandItems(properties: readonly Node[], binds: ODataBinds): ExpandItem[] {
  return properties.map((p) => {
    if (p['property'] !== undefined) unsupported('a path after an $expand item');
    const options = isNode(p['options']) ? queryOptions(p['options'] as ODataOptions, binds) : {};
    return { name: String(p['name']), count: p['count'] === true, options };
  });
}

function orderTerms(properties: readonly Node[]): OrderTerm[] {
  return properties.map((p) => ({ path: pathNames(p, '$orderby'), dir: p['order'] === 'asc' ? 'asc' : 'desc' }));
}

function propertiesOf(option: unknown): Node[] {
  return isNode(option) && Array.isArray(option['properties']) ? (option['properties'] as Node[]) : [];
}

/** The options the evaluator reads; `$count`, `$format`, aliases and other parameters are ignored. */
function queryOptions(options: ODataOptions, binds: ODataBinds): QueryOptions {
  const out: QueryOptions = {};
  if (options.$select !== undefined && options.$select !== '*') out.select = plainNames(propertiesOf(options.$select), '$select');
  if (options.$filter !== undefined) out.filter = toExpr(options.$filter, binds);
  if (options.$expand !== undefined) out.expand = expandItems(propertiesOf(options.$expand), binds);
  if (options.$orderby !== undefined) out.orderby = orderTerms(propertiesOf(options.$orderby));
  if (options.$top !== undefined) out.top = countOf(options.$top, binds);
  if (options.$skip !== undefined) out.skip = countOf(options.$skip, binds);
  return out;
}

function keyOf(key: NonNullable<ODataQuery['key']>, binds: ODataBinds): Exclude<ResourcePath['key'], undefined> {
  if ('bind' in key) return scalarOf(bindValue(binds, key));
  const fields: Record<string, Literal> = {};
  for (const [field, ref] of Object.entries(key)) fields[field] = scalarOf(bindValue(binds, ref));
  return fields;
}

/** The simulator's view of one parsed request. */
export function translateRequest(tree: ODataQuery, binds: ODataBinds): ParsedRequest {
  const resource: unknown = tree.resource;
  if (typeof resource !== 'string') return unsupported('a $batch content reference');
  if (tree.property !== undefined || tree.link !== undefined) unsupported('navigating from a resource path');
  const count = tree.count === true;
  const options = tree.options === undefined ? {} : queryOptions(tree.options, binds);
  const path: ResourcePath = tree.key === undefined ? { resource, count } : { resource, key: keyOf(tree.key, binds), count };
  return { path, options };
}
