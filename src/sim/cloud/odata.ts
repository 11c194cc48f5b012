/**
 * The simulator's OData parsing: `@balena/odata-parser`, fed the way pine feeds it (the raw,
 * still percent-encoded URL after the API root), so the simulator accepts and rejects exactly
 * what the real API does: `%2C` in `$select` is malformed, `%20`/`+`, `%27` and `%24` are not.
 */
import odataParser, { type ODataBinds, type ODataQuery } from '@balena/odata-parser';
import { ODataParsingError, ODataSyntaxError, type ParsedRequest } from './odata-ast.js';
import { translateRequest } from './odata-translate.js';

export type { CompareOp, ExpandItem, Expr, Literal, OrderTerm, ParsedRequest, QueryOptions, ResourcePath } from './odata-ast.js';

export { ODataParsingError, ODataSyntaxError, ODataUnsupportedError } from './odata-ast.js';

interface Parsed {
  tree: ODataQuery;
  binds: ODataBinds;
}

/**
 * Pine's URL handling: a query that defines parameter aliases (`@name=…`) is split, its other
 * parameters re-serialised and percent-decoded before parsing; any other URL is parsed as it came.
 */
function parseUrl(url: string): Parsed {
  const q = url.indexOf('?');
  if (q !== -1 && /[?&(]@/u.test(url)) {
    const params = new URLSearchParams(url.slice(q));
    const aliases = new URLSearchParams();
    for (const [key, value] of Array.from(params.entries())) {
      if (!key.startsWith('@')) continue;
      aliases.append(key, value);
      params.delete(key);
    }
    const aliasText = aliases.toString();
    if (aliasText !== '') {
      const parsed = odataParser.parse(`${url.slice(0, q)}?${decodeURIComponent(params.toString())}`);
      const extra = odataParser.parse(decodeURIComponent(aliasText), { startRule: 'ProcessRule', rule: 'QueryOptions' });
      const options = (parsed.tree.options ??= {});
      for (const key of Object.keys(extra.tree) as Array<`@${string}`>) {
        options[key] = extra.tree[key];
        const bind = extra.binds[key];
        if (bind !== undefined) parsed.binds[key] = bind;
      }
      return parsed;
    }
  }
  return odataParser.parse(url);
}

/** Parses one `/v7/<rest>?<rawQuery>` request as pine does (400, 500 and 501 cases: odata-ast.ts). */
export function parseRequest(rest: string, rawQuery: string): ParsedRequest {
  const url = rawQuery === '' ? `/${rest}` : `/${rest}?${rawQuery}`;
  let parsed: Parsed;
  try {
    parsed = parseUrl(url);
  } catch (err) {
    if (err instanceof odataParser.SyntaxError) throw new ODataSyntaxError(`'/v7${url}'`);
    throw new ODataParsingError(`Failed to parse url: '/v7${url}'`, { cause: err });
  }
  return translateRequest(parsed.tree, parsed.binds);
}
