import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../lib/errors.js';
import { usageOf, type CommandName } from './commands.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `--count -1` as `--count=-1`: a value option followed by a negative number takes it as its value
 * (so its own parser can say what is wrong), where node:util would call the argument ambiguous.
 */
function joinNegativeValues(argv: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * Parses the arguments of command `name`; unknown flags or a wrong number of positionals (none
 * unless `positionals` says) are usage errors that quote the command's usage line.
 */
export function parseCommandArgs<O extends Options>(argv: readonly string[], name: CommandName, options: O, positionals = { min: 0, max: 0 }) {
  const usage = usageOf(name);
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}; usage: ${usage}`);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) {
    throw new UsageError(`expected ${positionals.min === positionals.max ? positionals.min : `${positionals.min}–${positionals.max}`} argument(s), got ${count}; usage: ${usage}`);
  }
  return parsed;
}

/** The flags every command takes. */
export const COMMON_FLAGS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
