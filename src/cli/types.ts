import type { Dispatcher } from 'undici';
import type { Clock } from '../lib/clock.js';

/** Everything a command may touch; built by main.ts, faked by tests. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Arguments after the command name. */
  argv: readonly string[];
  out: (text: string) => void;
  err: (text: string) => void;
  dispatcher: Dispatcher;
  clock: Clock;
  /** Aborts on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/** One CLI command: thin, parses its arguments, calls a client, prints, returns an exit code. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The usage line(s) shown by --help. */
  usage: string;
  run(ctx: CliContext): Promise<number>;
}
