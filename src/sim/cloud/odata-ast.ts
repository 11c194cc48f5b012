/**
 * The cloud simulator's model of an OData request, as its evaluator reads it: the resource path,
 * the query options and `$filter` trees with every bound value resolved to a literal. The parser
 * (`@balena/odata-parser`, the one the real API runs) produces it through odata-translate.ts.
 */

/** A query the real API rejects with 400 "Malformed url: …" (or a field the model lacks). */
export class ODataSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ODataSyntaxError';
  }
}

/** A URL pine fails to parse for another reason (bad percent-encoding): it answers 500, no body. */
export class ODataParsingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ODataParsingError';
  }
}

/** Valid OData that the real API serves but the simulator does not implement. */
export class ODataUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ODataUnsupportedError';
  }
}

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

/** A parsed resource path: `device`, `device(1)`, `device(uuid='x')`, `device/$count`. */
export interface ResourcePath {
  readonly resource: string;
  readonly key?: Literal | Readonly<Record<string, Literal>>;
  readonly count: boolean;
}

/** A whole parsed `/v7/…` request: its path and its OData options (other parameters are ignored). */
export interface ParsedRequest {
  readonly path: ResourcePath;
  readonly options: QueryOptions;
}
