/**
 * What makes a destructive command `done` when its call had no answer: evidence, never hope.
 *
 * The rule, from what each effect does to the device and to the agent (CONTRACT §2.2, gotcha 5):
 *
 * | command | kills the agent | destroys the journal | evidence that it happened |
 * |---|---|---|---|
 * | reboot, shutdown | yes | no | a new kernel boot id |
 * | restart (the app) | yes: recreates every container | no | a container id changed |
 * | purge | yes | yes, when AGENT_DATA_DIR is on an app volume | the data volume found wiped, or a container id changed |
 * | restart-service | when it names the agent's service | no | every named service has a new container id |
 * | stop-service | when it names the agent's service | no | every named service running before the call and found not running after (never for the agent's own: it runs again) |
 * | identify, update, start-service | no | no | none needed: harmless to repeat, resumed instead |
 *
 * What must be durable where before each call (effect.ts does it in this order):
 * 1. always: the intent (`running`, `sending: true`, the time it was sent) in the journal, fsynced;
 * 2. for a command that recreates containers: the container ids before the call, in that same
 *    intent, so that a later process can compare (for stop-service: the services' states);
 * 3. for a purge: the `running` ack naming the token, written to the cloud and acknowledged by it,
 *    because the purge may wipe the journal and that ack is then the only record left.
 *
 * When the outcome is unknown — the agent was killed inside the call, or the reply was lost — the
 * entry stays `running` and the agent watches for the evidence for a grace period: it becomes
 * `done` when the evidence appears, `failed` (never repeated) when the grace period ends without it.
 * A supervisor's 2xx reply is evidence by itself and needs none of this.
 */
import { BOOT_GRACE_MS, CONTAINER_GRACE_MS, COMMANDS, specOf } from './commands.js';
import type { JournalEntry } from './journal.js';

export { BOOT_GRACE_MS, CONTAINER_GRACE_MS };
/** Pause between two looks at the supervisor while watching. */
export const WATCH_EVERY_MS = 15_000;

/** What the agent sees now, to judge an effect whose call had no answer. */
export interface Observation {
  /** The kernel's boot id now. */
  bootId: string;
  /** Service name → container id now; null when the supervisor could not say. */
  containers: Readonly<Record<string, string>> | null;
  /** Service name → status now (`Running`, `exited`…); null when the supervisor could not say. */
  statuses: Readonly<Record<string, string>> | null;
  /** The data volume was found wiped since the intent was written (the journal was missing). */
  wiped: boolean;
}

/** The verdict on an effect whose call had no answer. */
export type Verdict = { state: 'done' | 'failed'; detail: string } | { state: 'watch'; detail: string };

/** Commands whose effect must never happen twice for one token (the command table's `destructive`). */
export const EXACTLY_ONCE: ReadonlySet<string> = new Set(Object.entries(COMMANDS).filter(([, c]) => c.destructive).map(([name]) => name));

/** True when the command's evidence is a change of container ids (they are read before its call; stop-service reads states). */
export function recreatesContainers(command: string): boolean {
  return specOf(command)?.evidence === 'containers-recreated';
}

/** The grace period of a command's watch. */
export function graceMs(command: string): number {
  return specOf(command)?.graceMs ?? CONTAINER_GRACE_MS;
}

function running(status: string | undefined): boolean {
  return status !== undefined && /^running$/i.test(status);
}

function minutes(ms: number): string {
  return `${Math.round(ms / 60_000)} min`;
}

/**
 * Judges an entry left `running` with its call in flight. Pure. `elapsedMs` is how long ago the
 * call was sent (see effect.ts for how it is measured across restarts).
 */
export function judge(entry: JournalEntry, obs: Observation, ownService: string | undefined, elapsedMs: number): Verdict {
  const late = elapsedMs >= graceMs(entry.command);
  const unproven = (why: string): Verdict =>
    late ? { state: 'failed', detail: `${why}; not repeated (set a new token to try again)` } : { state: 'watch', detail: `checking for ${minutes(graceMs(entry.command))} whether it happened` };
  switch (specOf(entry.command)?.evidence) {
    case 'new-boot':
      if (obs.bootId !== entry.bootId) return { state: 'done', detail: `new boot seen (${entry.command})` };
      return late
        ? { state: 'failed', detail: `the device is still up ${minutes(BOOT_GRACE_MS)} later (same boot); not repeated (set a new token to try again)` }
        : { state: 'watch', detail: 'waiting for a new boot' };
    case 'containers-recreated': {
      if (specOf(entry.command)?.wipesData === true && obs.wiped) return { state: 'done', detail: 'the data volume was wiped' };
      const before = entry.before;
      if (!before) return { state: 'failed', detail: 'outcome unknown (container ids could not be read before the call); not repeated' };
      if (obs.containers === null) return unproven('outcome unknown (the supervisor cannot say which containers run)');
      // A service verb names its targets, and all of them must show it; an app-wide one, any.
      const named = specOf(entry.command)?.serviceVerb != null;
      const targets = named ? entry.services : Object.keys(before);
      const changed = targets.filter((s) => before[s] !== undefined && obs.containers?.[s] !== undefined && obs.containers[s] !== before[s]);
      const proven = named ? changed.length === targets.length : changed.length > 0;
      if (proven) return { state: 'done', detail: `container${changed.length > 1 ? 's' : ''} recreated (${changed.join(', ')})` };
      if (changed.length > 0 && late) return { state: 'failed', detail: `only ${changed.join(', ')} recreated within ${minutes(CONTAINER_GRACE_MS)}; not repeated` };
      return unproven(`no container recreated within ${minutes(CONTAINER_GRACE_MS)}`);
    }
    case 'services-stopped': {
      if (ownService !== undefined && entry.services.includes(ownService)) {
        return { state: 'failed', detail: 'outcome unknown: the agent stopped during the call and runs again; not repeated' };
      }
      const before = entry.before;
      if (!before) return { state: 'failed', detail: 'outcome unknown (service states could not be read before the call); not repeated' };
      const idle = entry.services.filter((s) => !running(before[s]));
      if (idle.length > 0) return { state: 'failed', detail: `outcome unknown (${idle.join(', ')} already stopped before the call); not repeated` };
      if (obs.statuses === null) return unproven('outcome unknown (the supervisor cannot say which services run)');
      const stopped = entry.services.filter((s) => obs.statuses?.[s] !== undefined && !running(obs.statuses[s]));
      if (stopped.length === entry.services.length) return { state: 'done', detail: `stopped (${stopped.join(', ')})` };
      return unproven(`${entry.services.filter((s) => !stopped.includes(s)).join(', ')} still running after ${minutes(CONTAINER_GRACE_MS)}`);
    }
    case 'none':
    case undefined:
      return { state: 'failed', detail: 'outcome unknown; not repeated' };
  }
}
