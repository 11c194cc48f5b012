/**
 * Evaluates parsed OData options over in-memory rows: `$filter` (with navigation and lambdas),
 * `$orderby`, `$skip`, `$top`, `$select`, and `$expand` (nested, permission-filtered).
 */
import { ODataSyntaxError, ODataUnsupportedError, type Expr, type Literal, type OrderTerm, type QueryOptions } from './odata-ast.js';

/** A table row: plain fields; a to-one navigation holds the target's id (or null). */
export type Row = Readonly<Record<string, unknown>>;

/** A navigation from one resource to another. */
export interface Navigation {
  readonly target: string;
  /** 'one' = this row's `field` holds the target id; 'many' = target rows whose `via` is this id. */
  readonly kind: 'one' | 'many';
  readonly via: string;
}

/** The model the evaluator reads: fields, navigations, and the rows a credential may see. */
export interface Graph {
  /** Plain (non-navigation) field names, or undefined for an unknown resource. */
  fields(resource: string): readonly string[] | undefined;
  navigation(resource: string, name: string): Navigation | undefined;
  /** The visible rows of `resource` related to `row` through `nav`. */
  related(resource: string, row: Row, nav: Navigation): Row[];
}

interface Scope {
  readonly resource: string;
  readonly row: Row;
  readonly aliases: ReadonlyMap<string, { resource: string; row: Row }>;
}

type Value = Literal | undefined | Row[];

function resolvePath(graph: Graph, scope: Scope, path: readonly string[], wantRows = false): { value: Value; resource: string } {
  let resource = scope.resource;
  let rows: Row[] = [scope.row];
  let start = 0;
  const alias = path[0] !== undefined ? scope.aliases.get(path[0]) : undefined;
  if (alias !== undefined) {
    resource = alias.resource;
    rows = [alias.row];
    start = 1;
    if (path.length === 1) return { value: rows, resource };
  }
  for (let i = start; i < path.length; i++) {
    const seg = path[i] ?? '';
    const row = rows[0];
    const last = i === path.length - 1;
    const nav = graph.navigation(resource, seg);
    if (nav !== undefined) {
      if (last && nav.kind === 'one' && !wantRows) return { value: (row?.[seg] ?? null) as Literal, resource };
      rows = row === undefined ? [] : graph.related(resource, row, nav);
      resource = nav.target;
      if (last) return { value: rows, resource };
      continue;
    }
    if (!(graph.fields(resource) ?? []).includes(seg)) throw new ODataSyntaxError(`unknown field "${seg}" of ${resource}`);
    if (!last) throw new ODataSyntaxError(`"${seg}" is not a navigation`);
    return { value: (row?.[seg] ?? null) as Literal, resource };
  }
  return { value: rows, resource };
}

function scalar(v: Value): Literal {
  if (Array.isArray(v)) throw new ODataSyntaxError('a navigation cannot be compared; use any()');
  return v ?? null;
}

function compare(op: string, a: Literal, b: Literal): boolean {
  if (op === 'eq') return a === b;
  if (op === 'ne') return a !== b;
  if (a === null || b === null) return false;
  if (op === 'gt') return a > b;
  if (op === 'lt') return a < b;
  if (op === 'ge') return a >= b;
  return a <= b;
}

function evalValue(graph: Graph, scope: Scope, expr: Expr): Value {
  switch (expr.kind) {
    case 'lit':
      return expr.value;
    case 'path':
      return resolvePath(graph, scope, expr.path).value;
    case 'call':
      return callFunction(expr.name, expr.args.map((a) => scalar(evalValue(graph, scope, a))));
    case 'cmp':
    case 'and':
    case 'or':
    case 'not':
    case 'in':
    case 'lambda':
      return matches(graph, scope, expr);
  }
}

function callFunction(name: string, args: Literal[]): Literal {
  const a = args[0] ?? null;
  const b = args[1] ?? null;
  const str = (v: Literal): string => (typeof v === 'string' ? v : String(v));
  switch (name) {
    case 'startswith':
      return a !== null && b !== null && str(a).startsWith(str(b));
    case 'endswith':
      return a !== null && b !== null && str(a).endsWith(str(b));
    case 'contains':
      return a !== null && b !== null && str(a).includes(str(b));
    case 'substringof':
      return a !== null && b !== null && str(b).includes(str(a));
    case 'tolower':
      return a === null ? null : str(a).toLowerCase();
    case 'toupper':
      return a === null ? null : str(a).toUpperCase();
    case 'length':
      return a === null ? null : str(a).length;
    default:
      // The parser only lets OData's own functions through: this one the simulator lacks.
      throw new ODataUnsupportedError(`the ${name}() function`);
  }
}

function matches(graph: Graph, scope: Scope, expr: Expr): boolean {
  switch (expr.kind) {
    case 'and':
      return matches(graph, scope, expr.left) && matches(graph, scope, expr.right);
    case 'or':
      return matches(graph, scope, expr.left) || matches(graph, scope, expr.right);
    case 'not':
      return !matches(graph, scope, expr.expr);
    case 'cmp':
      return compare(expr.op, scalar(evalValue(graph, scope, expr.left)), scalar(evalValue(graph, scope, expr.right)));
    case 'in': {
      const v = scalar(evalValue(graph, scope, expr.left));
      return expr.values.includes(v);
    }
    case 'lambda': {
      const { value, resource } = resolvePath(graph, scope, expr.path, true);
      const rows = Array.isArray(value) ? value : [];
      const test = (row: Row): boolean => {
        const aliases = new Map(scope.aliases).set(expr.alias, { resource, row });
        return matches(graph, { ...scope, aliases }, expr.expr);
      };
      return expr.fn === 'any' ? rows.some(test) : rows.every(test);
    }
    case 'lit':
    case 'path':
    case 'call':
      return evalValue(graph, scope, expr) === true;
  }
}

function orderRows(graph: Graph, resource: string, rows: Row[], terms: readonly OrderTerm[]): Row[] {
  const key = (row: Row, term: OrderTerm): Literal =>
    scalar(resolvePath(graph, { resource, row, aliases: new Map() }, term.path).value);
  return [...rows].sort((x, y) => {
    for (const term of terms) {
      const a = key(x, term);
      const b = key(y, term);
      if (a === b) continue;
      const less = a === null ? true : b === null ? false : a < b;
      return (less ? -1 : 1) * (term.dir === 'asc' ? 1 : -1);
    }
    return 0;
  });
}

/** Filters, orders and pages rows (without projecting them). */
export function selectRows(graph: Graph, resource: string, rows: readonly Row[], options: QueryOptions): Row[] {
  const filter = options.filter;
  let out = filter === undefined ? [...rows] : rows.filter((row) => matches(graph, { resource, row, aliases: new Map() }, filter));
  if (options.orderby !== undefined) out = orderRows(graph, resource, out, options.orderby);
  if (options.skip !== undefined) out = out.slice(options.skip);
  if (options.top !== undefined) out = out.slice(0, options.top);
  return out;
}

/** Shapes one row as pine returns it: selected fields, `{__id}` for unexpanded links, expansions. */
export function projectRow(graph: Graph, resource: string, row: Row, options: QueryOptions): Record<string, unknown> {
  const fields = graph.fields(resource) ?? [];
  const out: Record<string, unknown> = {};
  const names = options.select ?? [...fields, ...Object.keys(row).filter((k) => !fields.includes(k))];
  for (const name of names) {
    const nav = graph.navigation(resource, name);
    if (nav === undefined && !fields.includes(name)) throw new ODataSyntaxError(`unknown field "${name}" of ${resource}`);
    if (nav?.kind === 'many') throw new ODataSyntaxError(`"${name}" must be expanded, not selected`);
    const value = row[name] ?? null;
    out[name] = nav?.kind === 'one' && value !== null ? { __id: value } : value;
  }
  for (const item of options.expand ?? []) {
    const nav = graph.navigation(resource, item.name);
    if (nav === undefined) throw new ODataSyntaxError(`cannot expand "${item.name}" of ${resource}`);
    const related = selectRows(graph, nav.target, graph.related(resource, row, nav), item.options);
    out[item.name] = item.count ? related.length : related.map((r) => projectRow(graph, nav.target, r, item.options));
  }
  return out;
}

/** Runs a GET: the visible rows filtered, ordered, paged and projected. */
export function runQuery(graph: Graph, resource: string, rows: readonly Row[], options: QueryOptions): Record<string, unknown>[] {
  return selectRows(graph, resource, rows, options).map((row) => projectRow(graph, resource, row, options));
}

/** True when `row` passes `filter` (used for PATCH/DELETE selections). */
export function rowMatches(graph: Graph, resource: string, row: Row, filter: Expr | undefined): boolean {
  return filter === undefined || matches(graph, { resource, row, aliases: new Map() }, filter);
}
