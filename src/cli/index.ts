import { closest } from '../lib/closest.js';
import { redactor } from '../lib/redact.js';
import { COMMANDS, type CommandName, type Group, type Runner, type RunnersOf } from './commands.js';
import { EXIT, reportError } from './exit.js';
import type { CliContext } from './types.js';

/** Where each group of commands lives; a group's module is imported only when one of its commands runs. */
const GROUPS: { [G in Group]: () => Promise<RunnersOf<G>> } = {
  supervisor: async () => (await import('./supervisor.js')).runners,
  cloud: async () => (await import('./cloud.js')).runners,
  doctor: async () => (await import('./doctor.js')).runners,
  run: async () => (await import('./run.js')).runners,
  local: async () => (await import('./local.js')).runners,
  demo: async () => (await import('./demo.js')).runners,
  metrics: async () => (await import('./metrics.js')).runners,
  waves: async () => (await import('./waves.js')).runners,
  window: async () => (await import('./window.js')).runners,
};

const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

/** Loads the module of a command and returns its runner. */
export async function loadRunner(name: CommandName): Promise<Runner> {
  const runners: Partial<Record<CommandName, Runner>> = await GROUPS[COMMANDS[name].group]();
  const runner = runners[name];
  if (runner === undefined) throw new Error(`command ${name} has no runner`);
  return runner;
}

/** The text of `fleet-agent --help`. */
export function helpText(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((n) => n.length));
  return [
    'usage: fleet-agent <command> [options]',
    '',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n].summary}`),
    '',
    'Every command takes --help and --json. Exit codes: 0 ok, 1 failure, 2 usage or configuration,',
    '3 supervisor or cloud unreachable, 4 refused by an update lock, 5 unauthorised.',
  ].join('\n');
}

/** Groups that print credentials on purpose: the demo shows its simulators' made-up keys in curl lines. */
const SHOWS_CREDENTIALS: ReadonlySet<Group> = new Set(['demo']);

/**
 * The context with its output passed through a redactor of the device's secrets: a peer that
 * echoes a request puts the key into errors and replies, and every command prints through here.
 * Any `apikey=` value or `Bearer` credential is hidden too, except where a command shows
 * credentials on purpose (the device's own secrets are hidden there as well).
 */
function redacted(ctx: CliContext): CliContext {
  const [first] = ctx.argv;
  const patterns = !(first !== undefined && isCommand(first) && SHOWS_CREDENTIALS.has(COMMANDS[first].group));
  const hide = redactor([ctx.env.BALENA_API_KEY, ctx.env.BALENA_SUPERVISOR_API_KEY, ctx.env.AGENT_HTTP_TOKEN], { patterns });
  return { ...ctx, out: (text) => ctx.out(hide(text)), err: (text) => ctx.err(hide(text)) };
}

/** Runs argv[0] as a command; never throws (errors become messages and exit codes). */
export async function runCli(ctx: CliContext): Promise<number> {
  return runCommand(redacted(ctx));
}

async function runCommand(ctx: CliContext): Promise<number> {
  const [first, ...rest] = ctx.argv;
  const name = first === '--version' || first === '-v' ? 'version' : first;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.out(helpText());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!isCommand(name)) {
    const hint = closest(name, Object.keys(COMMANDS));
    ctx.err(`fleet-agent: unknown command "${name.slice(0, 40)}"${hint ? `; did you mean ${hint}?` : ''}; run fleet-agent --help`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(`usage: ${COMMANDS[name].usage}\n${COMMANDS[name].summary}`);
    return EXIT.ok;
  }
  try {
    const run = await loadRunner(name);
    return await run({ ...ctx, argv: rest });
  } catch (err) {
    return reportError(ctx, err, rest.includes('--json'));
  }
}
