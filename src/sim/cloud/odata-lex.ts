/**
 * The lexer of the simulator's OData parser. It reads the raw (still percent-encoded) option text
 * the way pine does: OData syntax written as `%2F %2C %3A %28 %29` is malformed, while `%20`/`+`
 * (space), `%24` (`$`) and `%27` (quote) are accepted; string literals are percent-decoded.
 */

/** A rejected query; the simulator answers it with 400 "Malformed url: …". */
export class ODataSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ODataSyntaxError';
  }
}

/** One token of an OData option value. */
export type Token =
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'num'; readonly v: number }
  | { readonly t: 'id'; readonly v: string }
  | { readonly t: 'punc'; readonly v: '(' | ')' | ',' | '/' | ':' | ';' | '=' };

const FORBIDDEN_ENCODED = new Set(['/', ',', ':', '(', ')']);
const PUNCTUATION = new Set(['(', ')', ',', '/', ':', ';', '=']);

interface Char {
  readonly ch: string;
  readonly width: number;
}

function charAt(raw: string, i: number): Char {
  const c = raw[i] ?? '';
  if (c === '+') return { ch: ' ', width: 1 };
  if (c !== '%') return { ch: c, width: 1 };
  const hex = raw.slice(i + 1, i + 3);
  if (!/^[0-9a-fA-F]{2}$/u.test(hex)) throw new ODataSyntaxError('bad percent-encoding');
  const ch = String.fromCharCode(parseInt(hex, 16));
  if (FORBIDDEN_ENCODED.has(ch)) throw new ODataSyntaxError(`percent-encoded OData syntax "%${hex}"`);
  return { ch, width: 3 };
}

function decodeLiteral(rawContent: string): string {
  try {
    return decodeURIComponent(rawContent);
  } catch {
    throw new ODataSyntaxError('bad percent-encoding in a string literal');
  }
}

/** Reads a quoted literal starting after its opening quote; returns the value and the end index. */
function readString(raw: string, start: number): { value: string; end: number } {
  let i = start;
  let content = '';
  while (i < raw.length) {
    const quoteWidth = raw[i] === "'" ? 1 : raw.slice(i, i + 3).toLowerCase() === '%27' ? 3 : 0;
    if (quoteWidth === 0) {
      content += raw[i];
      i += 1;
      continue;
    }
    const next = i + quoteWidth;
    const nextQuote = raw[next] === "'" ? 1 : raw.slice(next, next + 3).toLowerCase() === '%27' ? 3 : 0;
    if (nextQuote > 0) {
      content += "'";
      i = next + nextQuote;
      continue;
    }
    return { value: decodeLiteral(content), end: next };
  }
  throw new ODataSyntaxError('unterminated string literal');
}

/** Splits one raw option value into tokens. */
export function tokenize(raw: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < raw.length) {
    const { ch, width } = charAt(raw, i);
    if (ch === ' ') {
      i += width;
    } else if (ch === "'") {
      const { value, end } = readString(raw, i + width);
      tokens.push({ t: 'str', v: value });
      i = end;
    } else if (PUNCTUATION.has(ch)) {
      tokens.push({ t: 'punc', v: ch as '(' });
      i += width;
    } else if (/[0-9-]/u.test(ch)) {
      const m = /^-?\d+(\.\d+)?/u.exec(raw.slice(i));
      if (m === null) throw new ODataSyntaxError(`unexpected "${ch}"`);
      tokens.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_$@]/u.test(ch)) {
      let word = '';
      for (;;) {
        const next = i < raw.length ? charAt(raw, i) : { ch: '', width: 0 };
        if (!/^[A-Za-z0-9_$@.]$/u.test(next.ch)) break;
        word += next.ch;
        i += next.width;
      }
      tokens.push({ t: 'id', v: word });
    } else {
      throw new ODataSyntaxError(`unexpected "${ch}"`);
    }
  }
  return tokens;
}

/** A cursor over tokens with the small helpers the parsers need. */
export class TokenStream {
  private pos = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  next(): Token {
    const tok = this.tokens[this.pos];
    if (tok === undefined) throw new ODataSyntaxError('unexpected end of option');
    this.pos += 1;
    return tok;
  }

  isPunc(v: string, offset = 0): boolean {
    const tok = this.peek(offset);
    return tok?.t === 'punc' && tok.v === v;
  }

  isWord(v: string): boolean {
    const tok = this.peek();
    return tok?.t === 'id' && tok.v.toLowerCase() === v;
  }

  expectPunc(v: string): void {
    const tok = this.next();
    if (tok.t !== 'punc' || tok.v !== v) throw new ODataSyntaxError(`expected "${v}"`);
  }

  identifier(): string {
    const tok = this.next();
    if (tok.t !== 'id') throw new ODataSyntaxError('expected a name');
    return tok.v;
  }

  done(): boolean {
    return this.pos >= this.tokens.length;
  }
}
