import type { Dispatcher } from 'undici';
import type { Clock } from '../lib/clock.js';

/** Everything a command may touch; built by main.ts, faked by tests. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Arguments after the command name. */
  argv: readonly string[];
  out: (text: string) => void;
  err: (text: string) => void;
  /** The HTTP client's connection pool, created on first use (a command that needs no HTTP never loads it). */
  dispatcher: () => Promise<Dispatcher>;
  clock: Clock;
  /** Standard input, for commands that read it (the demo's console); created only when asked for. */
  input?: () => NodeJS.ReadableStream;
  /** Aborts on SIGINT/SIGTERM. */
  signal: AbortSignal;
}
