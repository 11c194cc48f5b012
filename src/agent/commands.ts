/**
 * THE command table: every fact about a command in one row. The parser, the admission step, the
 * effect, the journal's reconciliation and the evidence rule all read it; the compiler demands a
 * row for every name in COMMAND_NAMES.
 */
import type { CommandName } from '../config/schema.js';
import type { ServiceVerb, SupervisorPort } from './ports.js';

/**
 * What makes the command `done` when its call had no answer (evidence.ts): a new kernel boot, the
 * named (or any) container recreated, the named services found stopped, or nothing — the command
 * is harmless to repeat and is resumed instead of watched.
 */
export type Evidence = 'new-boot' | 'containers-recreated' | 'services-stopped' | 'none';

/** What the supervisor call of a command is given. */
export interface CallArgs {
  force: boolean;
  /**
   * The services still to act on (service verbs): the call removes each one once the supervisor
   * took it, so a retry after a lock does not repeat the ones already handled.
   */
  remaining: string[];
}

/** One row of the command table. */
export interface CommandSpec {
  /** The supervisor call; resolves to a detail for the `done` ack ('' for none). */
  call(supervisor: SupervisorPort, args: CallArgs): Promise<string>;
  /** Must never happen twice for one token: it is watched for evidence, never resent, once it may have reached the supervisor. */
  destructive: boolean;
  /** Reboots or powers off the device: counted in the shared reboot budget; `done` only on a new boot. */
  power: boolean;
  /**
   * Interrupts what the device is doing for its users: waits for a maintenance window when one is
   * set (PRODUCT §3). A behaviour may exempt some of its intents (Behaviour.holds).
   */
  disruptive: boolean;
  /** The supervisor's per-service verb, for commands that name services. */
  serviceVerb: ServiceVerb | null;
  /** Whether `force` (override update locks) is accepted. */
  takesForce: boolean;
  /**
   * Wipes the app's data volume, where the journal may live: the `running` ack goes to the cloud
   * before the call, and a wiped journal found at start is its evidence (evidence.ts).
   */
  wipesData: boolean;
  /** What "done" means when the answer was lost. */
  evidence: Evidence;
  /** How long the agent watches for that evidence. */
  graceMs: number;
}

/** How long a reboot or shutdown may take to show a new boot after the supervisor took the call. */
export const BOOT_GRACE_MS = 15 * 60_000;
/** How long the agent watches for recreated or stopped containers after a call without an answer. */
export const CONTAINER_GRACE_MS = 3 * 60_000;

const none = (): string => '';
const service = (verb: ServiceVerb, destructive: boolean, disruptive: boolean, evidence: Evidence): CommandSpec => ({
  async call(sup, { force, remaining }) {
    while (remaining.length > 0) {
      await sup.serviceAction(verb, remaining[0] ?? '', { force });
      remaining.shift();
    }
    return '';
  },
  destructive, disruptive, power: false, serviceVerb: verb, takesForce: true, wipesData: false, evidence, graceMs: CONTAINER_GRACE_MS,
});

/** The command table. */
export const COMMANDS = {
  reboot: {
    call: (sup, { force }) => sup.reboot({ force }).then(none),
    destructive: true, power: true, disruptive: true, serviceVerb: null, takesForce: true, wipesData: false, evidence: 'new-boot', graceMs: BOOT_GRACE_MS,
  },
  shutdown: {
    call: (sup, { force }) => sup.shutdown({ force }).then(none),
    destructive: true, power: true, disruptive: true, serviceVerb: null, takesForce: true, wipesData: false, evidence: 'new-boot', graceMs: BOOT_GRACE_MS,
  },
  restart: {
    call: (sup, { force }) => sup.restartApp({ force }).then(none),
    destructive: true, power: false, disruptive: true, serviceVerb: null, takesForce: true, wipesData: false, evidence: 'containers-recreated', graceMs: CONTAINER_GRACE_MS,
  },
  purge: {
    call: (sup, { force }) => sup.purge({ force }).then(none),
    destructive: true, power: false, disruptive: true, serviceVerb: null, takesForce: true, wipesData: true, evidence: 'containers-recreated', graceMs: CONTAINER_GRACE_MS,
  },
  'restart-service': service('restart', true, true, 'containers-recreated'),
  'stop-service': service('stop', true, true, 'services-stopped'),
  'start-service': service('start', false, false, 'none'),
  identify: {
    call: (sup) => sup.blink().then(none),
    destructive: false, power: false, disruptive: false, serviceVerb: null, takesForce: false, wipesData: false, evidence: 'none', graceMs: 0,
  },
  update: {
    call: async (sup, { force }) =>
      (await sup.update({ force })) === 'ignored' ? 'ignored by the supervisor (instant updates are off; add force)' : '',
    destructive: false, power: false, disruptive: true, serviceVerb: null, takesForce: true, wipesData: false, evidence: 'none', graceMs: 0,
  },
} as const satisfies Record<CommandName, CommandSpec>;

/** True for a known command name. */
export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** The row of a command name; undefined for a name that is not a command (a made-up tag). */
export function specOf(name: string): CommandSpec | undefined {
  return isCommand(name) ? COMMANDS[name] : undefined;
}

/** How a command's tag value is written (for messages). */
export function usage(command: string): string {
  const spec = specOf(command);
  if (spec?.serviceVerb) return '<token> <service>[,<service>…] [force] [now]';
  if (spec?.takesForce === false) return spec.disruptive ? '<token> [now]' : '<token>';
  return '<token> [force] [now]';
}
