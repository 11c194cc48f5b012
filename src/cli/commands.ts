import type { CliContext } from './types.js';

/** Runs one command with its arguments; returns the exit code. */
export type Runner = (ctx: CliContext) => Promise<number>;

/** The module that holds a command's code, loaded only when that command runs. */
export type Group = 'supervisor' | 'cloud' | 'doctor' | 'run' | 'local' | 'demo' | 'metrics' | 'waves' | 'window';

interface CommandInfo {
  group: Group;
  /** One line for the command list. */
  summary: string;
  /** The usage line shown by --help and in usage errors. */
  usage: string;
}

const OPTS = '[--json] [--timeout 10s]';

/**
 * Every command, in the order `--help` lists them: what it is called, what it does and which
 * module runs it. This table is all a CLI start loads before it knows the command.
 */
export const COMMANDS = {
  ping: { group: 'supervisor', summary: 'check that the supervisor answers (GET /ping)', usage: `fleet-agent ping ${OPTS}` },
  identify: { group: 'supervisor', summary: "blink the device's LED for 15 s (POST /v1/blink)", usage: `fleet-agent identify ${OPTS}` },
  reboot: {
    group: 'supervisor',
    summary: 'reboot the device (POST /v1/reboot); refused while an update lock is held unless --force',
    usage: `fleet-agent reboot [--force] ${OPTS}`,
  },
  shutdown: {
    group: 'supervisor',
    summary: 'shut the device down (POST /v1/shutdown); refused while an update lock is held unless --force',
    usage: `fleet-agent shutdown [--force] ${OPTS}`,
  },
  update: {
    group: 'supervisor',
    summary: 'ask the supervisor to fetch and apply the target state now (POST /v1/update)',
    usage: `fleet-agent update [--force] ${OPTS}`,
  },
  'restart-app': {
    group: 'supervisor',
    summary: "recreate every container of this device's app (POST /v1/restart)",
    usage: `fleet-agent restart-app [--force] ${OPTS}`,
  },
  purge: {
    group: 'supervisor',
    summary: "wipe the app's volumes (/data) and recreate its containers (POST /v1/purge); needs --yes",
    usage: `fleet-agent purge --yes [--force] ${OPTS}`,
  },
  'restart-service': {
    group: 'supervisor',
    summary: 'restart one service of this app, by name or image id (POST /v2/applications/:appId/restart-service)',
    usage: `fleet-agent restart-service <name|imageId> [--force] ${OPTS}`,
  },
  'stop-service': {
    group: 'supervisor',
    summary: 'stop one service of this app, by name or image id (POST /v2/applications/:appId/stop-service)',
    usage: `fleet-agent stop-service <name|imageId> [--force] ${OPTS}`,
  },
  'start-service': {
    group: 'supervisor',
    summary: 'start one service of this app, by name or image id (POST /v2/applications/:appId/start-service)',
    usage: `fleet-agent start-service <name|imageId> [--force] ${OPTS}`,
  },
  state: { group: 'supervisor', summary: 'device, apps, update status and supervisor version in one view', usage: `fleet-agent state ${OPTS}` },
  logs: {
    group: 'supervisor',
    summary: 'host journal lines through the supervisor (POST /v2/journal-logs); --follow until Ctrl-C',
    usage: `fleet-agent logs [--follow] [--unit U] [--count N] ${OPTS}`,
  },
  tags: { group: 'cloud', summary: "list, read, set or remove this device's tags (via the cloud)", usage: 'fleet-agent tags [get K | set K V | rm K] [--json]' },
  env: {
    group: 'cloud',
    summary: 'device, fleet and service variables as they apply to this service, with their source',
    usage: 'fleet-agent env [--service NAME] [--json]',
  },
  doctor: {
    group: 'doctor',
    summary: 'checks environment, supervisor, keys, cloud, data dir and clock; says how to fix what is wrong',
    usage: 'fleet-agent doctor [--json]',
  },
  metrics: {
    group: 'metrics',
    summary: 'one metrics sample of this device: CPU, load, memory, the data folder\'s disk, temperature, power state',
    usage: 'fleet-agent metrics [--json]',
  },
  waves: {
    group: 'waves',
    summary: "which wave and start time each device (uuids on stdin) gets in a fleet command's staged rollout",
    usage: 'fleet-agent waves --rollout <percent>%/<period> --token <token> [--from <UTC time>] [--json] < uuids',
  },
  window: {
    group: 'window',
    summary: 'is the device inside its maintenance window (AGENT_MAINTENANCE_WINDOW in TZ) now or at --at, and when the next one opens',
    usage: 'fleet-agent window [--at TIME] [--json]',
  },
  version: { group: 'local', summary: "print fleet-agent's version (also --version)", usage: 'fleet-agent version [--json]' },
  run: { group: 'run', summary: 'run the agent: poll tags, carry out commands exactly once, report health', usage: 'fleet-agent run' },
  health: {
    group: 'local',
    summary: "print the running agent's health (ok, degraded or failing, with reasons); exit 1 when failing, 3 when no agent answers",
    usage: 'fleet-agent health [--json]',
  },
  demo: {
    group: 'demo',
    summary: 'start the supervisor and balena API simulators on 127.0.0.1 and run the agent against them (source checkout only); --devices N: a fleet of N devices (1–200), to try staged fleet rollouts',
    usage: 'fleet-agent demo [--devices N] [--json]',
  },
  start: { group: 'demo', summary: 'run the agent when a balena environment is present, otherwise the demo', usage: 'fleet-agent start [--devices N] [--json]' },
} as const satisfies Record<string, CommandInfo>;

/** A command's name. */
export type CommandName = keyof typeof COMMANDS;

/** The runners a group's module must export: one per command of that group, checked by the compiler. */
export type RunnersOf<G extends Group> = {
  [K in CommandName as (typeof COMMANDS)[K]['group'] extends G ? K : never]: Runner;
};

/** A command's usage line, for usage errors. */
export function usageOf(name: CommandName): string {
  return COMMANDS[name].usage;
}
