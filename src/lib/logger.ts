import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { redactor } from './redact.js';

export type { Logger } from 'pino';

/** Field paths pino hides in every log line, wherever a secret could travel. */
export const REDACT_PATHS = [
  'apiKey',
  'apikey',
  'key',
  'token',
  'password',
  'authorization',
  '*.apiKey',
  '*.apikey',
  '*.key',
  '*.token',
  '*.password',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'env.BALENA_API_KEY',
  'env.BALENA_SUPERVISOR_API_KEY',
  'env.AGENT_HTTP_TOKEN',
  '*.BALENA_API_KEY',
  '*.BALENA_SUPERVISOR_API_KEY',
  '*.AGENT_HTTP_TOKEN',
];

/** Options for the agent's logger; `destination` and `secrets` are injected so tests capture both. */
export interface LoggerOptions {
  level: LevelWithSilent;
  destination?: DestinationStream;
  /** Literal secret values scrubbed from every message, wherever they appear. */
  secrets?: readonly string[];
  /** Milliseconds since epoch, for timestamps. */
  wall?: () => number;
}

/** Replaces every occurrence of each secret (and any `apikey=` value or `Bearer` credential) with `[redacted]`. */
export function scrub(text: string, secrets: readonly string[]): string {
  return redactor(secrets)(text);
}

/** The agent's pino logger: JSON lines, ISO time, secrets redacted by path and by value. */
export function createLogger(opts: LoggerOptions): Logger {
  const hide = redactor(opts.secrets ?? []);
  const wall = opts.wall ?? Date.now;
  return pino(
    {
      level: opts.level,
      base: null,
      timestamp: () => `,"time":"${new Date(wall()).toISOString()}"`,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => scrubFields(fields, hide),
      },
      hooks: {
        logMethod(args, method) {
          const cleaned: unknown[] = args.map((a) => (typeof a === 'string' ? hide(a) : a));
          // pino takes the message of an error logged without one from the error itself, unscrubbed
          const err = errorOf(cleaned[0]);
          if (err && cleaned.length === 1) cleaned.push(hide(err.message));
          method.apply(this, cleaned as typeof args);
        },
      },
      serializers: {
        err: (err: unknown) => {
          if (!(err instanceof Error)) return err;
          const code = (err as { code?: unknown }).code;
          return { type: err.name, message: hide(err.message), ...(code !== undefined ? { code } : {}) };
        },
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** The error a log call carries: the first argument itself, or its `err` field. */
function errorOf(first: unknown): Error | undefined {
  if (first instanceof Error) return first;
  const nested = first !== null && typeof first === 'object' ? (first as { err?: unknown }).err : undefined;
  return nested instanceof Error ? nested : undefined;
}

/** Scrubs the top-level string fields of a log line (a URL or a message passed as a field). */
function scrubFields(fields: Record<string, unknown>, hide: (text: string) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = typeof value === 'string' ? hide(value) : value;
  return out;
}
