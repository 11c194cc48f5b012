/** What one soak round does, decided from its seed alone: the command, the faults, the kills, the clock steps. */
import { Rng } from './rng.js';

/** Every command a round can send; the exactly-once ones must never act twice for one token. */
export const SOAK_COMMANDS = ['reboot', 'shutdown', 'restart', 'purge', 'restart-service', 'stop-service', 'start-service', 'identify', 'update'] as const;
export type SoakCommand = (typeof SOAK_COMMANDS)[number];
export const EXACTLY_ONCE: ReadonlySet<string> = new Set(['reboot', 'shutdown', 'restart', 'purge', 'restart-service', 'stop-service']);

/** The agent's own service and another one (the simulated app has both). */
export const OWN_SERVICE = 'fleet-agent';
export const OTHER_SERVICE = 'main';

/** How the supervisor misbehaves on the round's mutating call. */
export type SupervisorFault =
  | { kind: 'none' }
  /** Slow: waits before acting and/or before replying (the agent's client gives up after 10 s). */
  | { kind: 'slow'; delayBeforeMs: number; delayAfterMs: number }
  /** Held before acting; if the agent goes away meanwhile, the request never got through. */
  | { kind: 'held'; delayBeforeMs: number }
  | { kind: 'reset-before' }
  | { kind: 'reset-after'; delayAfterMs: number }
  /** An update lock: 423 to calls without force until it is released. */
  | { kind: 'lock'; holdMs: number };

/** When a kill lands: a timer from the tag, or an event of the round plus a delay. */
export type KillMoment = 'timer' | 'arrival' | 'effect' | 'ack-running' | 'ack-final';

export interface PlannedKill {
  moment: KillMoment;
  delayMs: number;
  signal: 'SIGKILL' | 'SIGTERM';
  /** Before the container comes back. */
  restartAfterMs: number;
}

export interface PlannedClockStep {
  atMs: number;
  /** The new offset of the device's wall clock from the real one. */
  offsetMs: number;
}

export interface RoundPlan {
  seed: number;
  command: SoakCommand;
  token: string;
  /** The tag value (`<token>[ <service>][ force]`). */
  value: string;
  service?: string;
  force: boolean;
  fault: SupervisorFault;
  kills: PlannedKill[];
  clockSteps: PlannedClockStep[];
}

const HOUR = 3_600_000;

/** Plans a round; `commands` limits the choice. */
export function planRound(seed: number, commands: readonly SoakCommand[]): RoundPlan {
  const rng = new Rng(seed);
  const command = rng.pick(commands);
  const token = `s${seed.toString(36)}`;
  const service = command.endsWith('-service') ? (rng.chance(0.5) ? OWN_SERVICE : OTHER_SERVICE) : undefined;
  const force = command !== 'identify' && rng.chance(0.2);
  const value = [token, service, force ? 'force' : undefined].filter((w) => w !== undefined).join(' ');
  const faults: Array<() => SupervisorFault> = [
    () => ({ kind: 'none' }),
    () => ({ kind: 'slow', delayBeforeMs: rng.chance(0.6) ? rng.int(200, 12_000) : 0, delayAfterMs: rng.chance(0.6) ? rng.int(200, 12_000) : 0 }),
    () => ({ kind: 'held', delayBeforeMs: rng.int(500, 12_000) }),
    () => ({ kind: 'reset-before' }),
    () => ({ kind: 'reset-after', delayAfterMs: rng.chance(0.5) ? rng.int(100, 3_000) : 0 }),
    () => ({ kind: 'lock', holdMs: rng.int(2_000, 45_000) }),
  ];
  const fault = rng.pick(faults)();
  const moments: KillMoment[] = ['timer', 'timer', 'arrival', 'effect', 'ack-running', 'ack-final'];
  const killCount = rng.pick([0, 1, 1, 1, 2, 2, 3]);
  const kills: PlannedKill[] = [];
  for (let i = 0; i < killCount; i++) {
    const moment = rng.pick(moments);
    kills.push({
      moment,
      delayMs: moment === 'timer' ? rng.int(0, 14_000) : rng.int(0, 1_500),
      signal: rng.chance(0.8) ? 'SIGKILL' : 'SIGTERM',
      restartAfterMs: rng.int(50, 1_500),
    });
  }
  const clockSteps: PlannedClockStep[] = [];
  const steps = rng.pick([0, 0, 1, 1, 2]);
  for (let i = 0; i < steps; i++) {
    const size = rng.chance(0.5) ? rng.int(1, 24) * HOUR : rng.int(HOUR, 24 * HOUR);
    clockSteps.push({ atMs: rng.int(0, 14_000), offsetMs: rng.chance(0.2) ? 0 : rng.chance(0.5) ? size : -size });
  }
  return { seed, command, token, value, ...(service !== undefined ? { service } : {}), force, fault, kills, clockSteps };
}

/** The supervisor effect a command's call produces (as the simulator names it). */
export function effectKind(command: SoakCommand): string {
  if (command === 'identify') return 'blink';
  return command;
}

/** The last segment of the path of a command's mutating call. */
export function callSuffix(command: SoakCommand): string {
  return command === 'identify' ? '/blink' : `/${command}`;
}
