/** Hiding secrets in text that leaves the agent: tags, /status, the status page, CLI output, logs. */

/** What a hidden value is replaced with. */
export const REDACTED = '[redacted]';

/** Secrets shorter than this are not hidden by value (they would blank out ordinary words). */
export const MIN_SECRET_LENGTH = 4;

/** A URL, path or message with every `apikey=` value hidden. */
export function redactUrl(text: string): string {
  return text.replace(/([?&]apikey=)[^&#\s"]*/gi, `$1${REDACTED}`);
}

/** Hides the credential of every `Bearer <credential>` (an echoed Authorization header). */
export function redactBearer(text: string): string {
  return text.replace(/\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${REDACTED}`);
}

/**
 * A function that hides, in any text, each of `secrets` (wherever it appears, also URL-encoded)
 * and, unless `patterns` is false, every `apikey=` query value and `Bearer` credential. Built
 * once where an output is assembled.
 */
export function redactor(secrets: readonly (string | null | undefined)[], opts: { patterns?: boolean } = {}): (text: string) => string {
  const patterns = opts.patterns ?? true;
  // Longest first, so a secret that contains another is hidden whole.
  const known = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
  const encoded = known.map(encodeURIComponent).filter((e) => !known.includes(e));
  const all = [...known, ...encoded];
  return (text) => {
    let out = text;
    for (const secret of all) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return patterns ? redactBearer(redactUrl(out)) : out;
  };
}

/** A copy of a JSON-like value with every string (keys included) passed through `redact`. */
export function redactDeep<T>(value: T, redact: (text: string) => string): T {
  return walk(value, redact) as T;
}

function walk(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => walk(v, redact));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), walk(v, redact)]));
  }
  return value;
}
