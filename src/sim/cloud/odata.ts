/**
 * The simulator's OData parser: resource paths with keys and the query options pine understands
 * (`$filter`, `$select`, `$expand` with nested `;`-separated options, `$orderby`, `$top`, `$skip`).
 */
import { literalOf, parseFilter, parsePath, type Expr, type Literal } from './odata-filter.js';
import { ODataSyntaxError, TokenStream, tokenize } from './odata-lex.js';

export type { CompareOp, Expr, Literal } from './odata-filter.js';

export { ODataSyntaxError } from './odata-lex.js';

/** One `$orderby` term. */
export interface OrderTerm {
  readonly path: readonly string[];
  readonly dir: 'asc' | 'desc';
}

/** One `$expand` item with its nested options; `count` for `nav/$count`. */
export interface ExpandItem {
  readonly name: string;
  readonly count: boolean;
  readonly options: QueryOptions;
}

/** Parsed query options (top level or nested in an `$expand`). */
export interface QueryOptions {
  select?: readonly string[];
  filter?: Expr;
  expand?: readonly ExpandItem[];
  orderby?: readonly OrderTerm[];
  top?: number;
  skip?: number;
}

/** A whole parsed request's OData options (other query parameters, e.g. `apikey`, are ignored). */
export interface ParsedQuery {
  readonly options: QueryOptions;
}

/** A parsed resource path: `device`, `device(1)`, `device(uuid='x')`, `device/$count`. */
export interface ResourcePath {
  readonly resource: string;
  readonly key?: Literal | Readonly<Record<string, Literal>>;
  readonly count: boolean;
}

function parseSelect(s: TokenStream): string[] {
  const fields = [s.identifier()];
  while (s.isPunc(',')) {
    s.next();
    fields.push(s.identifier());
  }
  return fields;
}

function parseOrderby(s: TokenStream): OrderTerm[] {
  const terms: OrderTerm[] = [];
  do {
    if (terms.length > 0) s.next();
    const path = parsePath(s, s.identifier());
    let dir: 'asc' | 'desc' = 'asc';
    if (s.isWord('asc') || s.isWord('desc')) dir = s.identifier().toLowerCase() as 'asc' | 'desc';
    terms.push({ path, dir });
  } while (s.isPunc(','));
  return terms;
}

function parseCount(s: TokenStream): number {
  const tok = s.next();
  if (tok.t !== 'num' || !Number.isInteger(tok.v) || tok.v < 0) throw new ODataSyntaxError('expected a count');
  return tok.v;
}

function parseExpand(s: TokenStream): ExpandItem[] {
  const items: ExpandItem[] = [];
  do {
    if (items.length > 0) s.next();
    const name = s.identifier();
    let count = false;
    if (s.isPunc('/')) {
      s.next();
      if (s.identifier() !== '$count') throw new ODataSyntaxError('only one level per $expand item');
      count = true;
    }
    const options: QueryOptions = {};
    if (s.isPunc('(')) {
      s.next();
      do {
        if (s.isPunc(';')) s.next();
        const option = s.identifier();
        s.expectPunc('=');
        applyOption(options, option, s);
      } while (s.isPunc(';'));
      s.expectPunc(')');
    }
    items.push({ name, count, options });
  } while (s.isPunc(','));
  return items;
}

function applyOption(into: QueryOptions, option: string, s: TokenStream): void {
  switch (option) {
    case '$filter':
      into.filter = parseFilter(s);
      return;
    case '$select':
      into.select = parseSelect(s);
      return;
    case '$expand':
      into.expand = parseExpand(s);
      return;
    case '$orderby':
      into.orderby = parseOrderby(s);
      return;
    case '$top':
      into.top = parseCount(s);
      return;
    case '$skip':
      into.skip = parseCount(s);
      return;
    default:
      throw new ODataSyntaxError(`unknown option "${option}"`);
  }
}

const KNOWN_OPTIONS = new Set(['$filter', '$select', '$expand', '$orderby', '$top', '$skip']);

/** Parses a raw query string (without `?`); throws ODataSyntaxError on anything pine would refuse. */
export function parseQuery(rawQuery: string): ParsedQuery {
  const options: QueryOptions = {};
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const name = rawName.replace(/^%24/iu, '$');
    // Like the real API, parameters that are not OData options are not looked at.
    if (!name.startsWith('$')) continue;
    if (name === '$format' || name === '$count') continue;
    if (!KNOWN_OPTIONS.has(name)) throw new ODataSyntaxError(`unknown option "${name}"`);
    const s = new TokenStream(tokenize(rawValue));
    applyOption(options, name, s);
    if (!s.done()) throw new ODataSyntaxError(`unexpected text after ${name}`);
  }
  return { options };
}

/** Parses what follows `/v7/`: a resource name, an optional key and an optional `/$count`. */
export function parseResourcePath(rawPath: string): ResourcePath {
  const s = new TokenStream(tokenize(rawPath));
  const resource = s.identifier();
  let key: ResourcePath['key'];
  if (s.isPunc('(')) {
    s.next();
    const lit = literalOf(s);
    if (lit !== undefined) {
      key = lit;
    } else {
      const fields: Record<string, Literal> = {};
      do {
        if (s.isPunc(',')) s.next();
        const field = s.identifier();
        s.expectPunc('=');
        const value = literalOf(s);
        if (value === undefined) throw new ODataSyntaxError('expected a key value');
        fields[field] = value;
      } while (s.isPunc(','));
      key = fields;
    }
    s.expectPunc(')');
  }
  let count = false;
  if (s.isPunc('/')) {
    s.next();
    if (s.identifier() !== '$count') throw new ODataSyntaxError('unsupported path');
    count = true;
  }
  if (!s.done()) throw new ODataSyntaxError('unexpected text in the resource path');
  return key === undefined ? { resource, count } : { resource, key, count };
}
