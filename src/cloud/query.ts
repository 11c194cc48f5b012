/**
 * OData query strings as the balena API accepts them. The real API answers 400 "Malformed url"
 * when OData syntax (`/ , : ( )`) is percent-encoded, so options are written raw and only literal
 * values are escaped (CONTRACT §6, "Checked against a running open-balena-api").
 */

/** Characters that must not travel raw inside a literal: they would end or corrupt the query. */
const UNSAFE_IN_LITERAL = /[%&#+?\s"<>\\^`{|}]|[^\x20-\x7e]/gu;

function encodeChar(ch: string): string {
  try {
    return encodeURIComponent(ch);
  } catch {
    return '%EF%BF%BD'; // a lone surrogate: send the replacement character
  }
}

/** An OData string literal: quotes doubled, query-breaking characters percent-encoded, in quotes. */
export function literal(value: string): string {
  const doubled = value.replace(/'/g, "''");
  return `'${doubled.replace(UNSAFE_IN_LITERAL, encodeChar)}'`;
}

/** Spaces in OData syntax travel as `%20` (a raw space is not a valid request target). */
export function odata(expression: string): string {
  return expression.replace(/ /g, '%20');
}

/** One query option, e.g. `['$select', 'id,name']`; values are already OData text. */
export type QueryOption = readonly [name: string, value: string];

/** Joins options into `?a=b&c=d` without encoding the OData syntax inside them. */
export function queryString(options: readonly QueryOption[]): string {
  if (options.length === 0) return '';
  return `?${options.map(([name, value]) => `${name}=${odata(value)}`).join('&')}`;
}

/** `name(opt1;opt2)`: an `$expand` item with nested options separated by `;`. */
export function expandItem(name: string, options: readonly QueryOption[]): string {
  if (options.length === 0) return name;
  return `${name}(${options.map(([key, value]) => `${key}=${value}`).join(';')})`;
}
