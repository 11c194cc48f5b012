/**
 * The `$filter` expression grammar of the simulator's OData parser: literals, paths, comparisons,
 * `in (…)`, `not`/`and`/`or`, function calls and `any()`/`all()` lambdas, as pine reads them.
 */
import { ODataSyntaxError, type TokenStream } from './odata-lex.js';

/** A literal value in a filter or a key. */
export type Literal = string | number | boolean | null;

/** Comparison operators of `$filter`. */
export type CompareOp = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le';

/** A `$filter` expression tree. */
export type Expr =
  | { readonly kind: 'lit'; readonly value: Literal }
  | { readonly kind: 'path'; readonly path: readonly string[] }
  | { readonly kind: 'cmp'; readonly op: CompareOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'and' | 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'not'; readonly expr: Expr }
  | { readonly kind: 'in'; readonly left: Expr; readonly values: readonly Literal[] }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[] }
  | {
      readonly kind: 'lambda';
      readonly fn: 'any' | 'all';
      readonly path: readonly string[];
      readonly alias: string;
      readonly expr: Expr;
    };

const COMPARE_OPS = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le']);

/** A literal at the cursor (string, number, true/false/null), consumed; undefined when there is none. */
export function literalOf(s: TokenStream): Literal | undefined {
  const tok = s.peek();
  if (tok === undefined) return undefined;
  if (tok.t === 'str' || tok.t === 'num') {
    s.next();
    return tok.v;
  }
  if (tok.t === 'id' && ['true', 'false', 'null'].includes(tok.v)) {
    s.next();
    return tok.v === 'null' ? null : tok.v === 'true';
  }
  return undefined;
}

/** A `/`-separated path starting with `first`, stopping before an `any`/`all` lambda. */
export function parsePath(s: TokenStream, first: string): string[] {
  const path = [first];
  while (s.isPunc('/') && s.peek(1)?.t === 'id') {
    const next = s.peek(1);
    if (next?.t === 'id' && (next.v === 'any' || next.v === 'all') && s.isPunc('(', 2)) break;
    s.next();
    path.push(s.identifier());
  }
  return path;
}

function parsePrimary(s: TokenStream): Expr {
  if (s.isPunc('(')) {
    s.next();
    const inner = parseOr(s);
    s.expectPunc(')');
    return inner;
  }
  const lit = literalOf(s);
  if (lit !== undefined) return { kind: 'lit', value: lit };
  const name = s.identifier();
  if (s.isPunc('(')) {
    s.next();
    const args: Expr[] = [];
    if (!s.isPunc(')')) {
      args.push(parseOr(s));
      while (s.isPunc(',')) {
        s.next();
        args.push(parseOr(s));
      }
    }
    s.expectPunc(')');
    return { kind: 'call', name: name.toLowerCase(), args };
  }
  const path = parsePath(s, name);
  if (s.isPunc('/')) {
    s.next();
    const fn = s.identifier();
    if (fn !== 'any' && fn !== 'all') throw new ODataSyntaxError(`unknown lambda "${fn}"`);
    s.expectPunc('(');
    const alias = s.identifier();
    s.expectPunc(':');
    const expr = parseOr(s);
    s.expectPunc(')');
    return { kind: 'lambda', fn, path, alias, expr };
  }
  return { kind: 'path', path };
}

function parseComparison(s: TokenStream): Expr {
  const left = parsePrimary(s);
  const tok = s.peek();
  if (tok?.t === 'id' && COMPARE_OPS.has(tok.v)) {
    s.next();
    return { kind: 'cmp', op: tok.v as CompareOp, left, right: parsePrimary(s) };
  }
  if (tok?.t === 'id' && tok.v === 'in') {
    s.next();
    s.expectPunc('(');
    const values: Literal[] = [];
    do {
      if (values.length > 0) s.next();
      const lit = literalOf(s);
      if (lit === undefined) throw new ODataSyntaxError('expected a literal in "in (…)"');
      values.push(lit);
    } while (s.isPunc(','));
    s.expectPunc(')');
    return { kind: 'in', left, values };
  }
  return left;
}

function parseNot(s: TokenStream): Expr {
  if (s.isWord('not')) {
    s.next();
    return { kind: 'not', expr: parseNot(s) };
  }
  return parseComparison(s);
}

function parseAnd(s: TokenStream): Expr {
  let left = parseNot(s);
  while (s.isWord('and')) {
    s.next();
    left = { kind: 'and', left, right: parseNot(s) };
  }
  return left;
}

/** A whole `$filter` expression (lowest precedence: `or`). */
export function parseFilter(s: TokenStream): Expr {
  return parseOr(s);
}

function parseOr(s: TokenStream): Expr {
  let left = parseAnd(s);
  while (s.isWord('or')) {
    s.next();
    left = { kind: 'or', left, right: parseAnd(s) };
  }
  return left;
}
