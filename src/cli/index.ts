import { closest } from '../config/load.js';
import { EXIT, reportError } from './exit.js';
import type { CliContext, Command } from './types.js';

/** Every command, in the order `--help` lists them. Each group lives in its own file. */
export function allCommands(groups: readonly (readonly Command[])[]): readonly Command[] {
  return groups.flat();
}

/** The text of `fleet-agent --help`. */
export function helpText(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: fleet-agent <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --help and --json. Exit codes: 0 ok, 1 failure, 2 usage or configuration,',
    '3 supervisor or cloud unreachable, 4 refused by an update lock, 5 unauthorised.',
  ].join('\n');
}

/** Runs argv[0] as a command; never throws (errors become messages and exit codes). */
export async function runCli(commands: readonly Command[], ctx: CliContext): Promise<number> {
  const [first, ...rest] = ctx.argv;
  const name = first === '--version' || first === '-v' ? 'version' : first;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.out(helpText(commands));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const hint = closest(name, commands.map((c) => c.name));
    ctx.err(`fleet-agent: unknown command "${name.slice(0, 40)}"${hint ? `; did you mean ${hint}?` : ''}; run fleet-agent --help`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(`usage: ${command.usage}\n${command.summary}`);
    return EXIT.ok;
  }
  try {
    return await command.run({ ...ctx, argv: rest });
  } catch (err) {
    return reportError(ctx, err, rest.includes('--json'));
  }
}
