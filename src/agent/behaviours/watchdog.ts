/**
 * The watchdog behaviour (PRODUCT §3): keeps the watched services running by climbing a ladder
 * of ever larger steps (`AGENT_WATCHDOG_LADDER`, by default restart-service → restart → reboot),
 * with a growing cool-off after each. Pure: no I/O, no clock, no randomness.
 *
 * | situation | what decide does |
 * |---|---|
 * | `looks` null (supervisor unreachable) or the app being updated | nothing at all: no intent, no problem, no state |
 * | `all` | watches every service the supervisor reports but the agent's own |
 * | a listed name the supervisor does not report | problem `watchdog: no service named X`, nothing else |
 * | the agent's own service listed | problem `watchdog: cannot watch its own service X`, nothing else |
 * | the operator's newest stop-, start- or restart-service naming it is a stop-service `done` or `running` | left alone: stopped on purpose |
 * | not running on one look, or its check failed fewer than 3 times | nothing (one look may catch the engine restarting it) |
 * | unhealthy: not running on 2 looks in a row, or its check failed 3 times in a row | the next step of its ladder, when allowed (below) |
 * | no step taken yet in its epoch | step 0 at once |
 * | step k-1 still open (accepted, running, deferred, or in the runner) | wait |
 * | step k-1 terminal (done, failed, blocked, rejected) less than `COOL_OFFS_MS[k-1]` ago (wall) | wait |
 * | … at least that long ago, and the ladder has a step k | step k |
 * | … and the ladder has no step k | problem `watchdog: X still unhealthy after the whole ladder; waiting for an operator (why)`, never an intent |
 * | a restart or reboot of the watchdog open | no step for any service (it restarts them all) |
 * | several want restart or reboot | at most one per decide, the mildest (then by name), and only when no other watchdog intent is open or proposed now |
 * | steps taken in its epoch, healthy for an hour (monotonic) | the epoch goes up by one: the next trouble starts at the bottom |
 *
 * The position on the ladder lives in the journal, not in memory: step k of a service is the
 * entry keyed `watchdog@<service>:<epoch>.<k>`, written before any effect, so a crash or restart
 * of the agent neither loses nor repeats a step. The persisted state holds only each service's
 * epoch. Steps are numbered rather than named, so a ladder that names a step twice still keys
 * each rung apart. The ladder ends: after its last step the watchdog only reports.
 */
import { LADDER_STEPS, type LadderStep } from '../../config/schema.js';
import { TERMINAL } from '../acks.js';
import { specOf } from '../commands.js';
import { behaviourKey, byOperator, entryKey, originOf, type Intent, type Proposal } from '../intent.js';
import type { JournalEntry } from '../journal.js';
import type { ServiceLook, Snapshot } from '../snapshot.js';
import type { Behaviour, Decision } from './behaviour.js';

const MINUTE = 60_000;

/** Cool-off after ladder step i before step i+1 may run (a longer ladder reuses the last). */
export const COOL_OFFS_MS: readonly number[] = [5 * MINUTE, 15 * MINUTE, 45 * MINUTE];
/** How long a service must look healthy before its next trouble starts at the bottom of the ladder. */
export const HEALTHY_RESET_MS = 60 * MINUTE;
/** Looks in a row that must find a service not running before it is unhealthy. */
export const DOWN_LOOKS = 2;
/** Failed checks in a row that make a service unhealthy. */
export const CHECK_FAILURES = 3;

/** The watchdog's persisted state: each service's epoch (missing = 0). */
export interface WatchdogState {
  epochs: Readonly<Record<string, number>>;
}

/** Reads the persisted state defensively: anything malformed counts as epoch 0. */
export function readState(raw: unknown): WatchdogState {
  if (typeof raw !== 'object' || raw === null || !('epochs' in raw)) return { epochs: {} };
  const epochs: unknown = raw.epochs;
  if (typeof epochs !== 'object' || epochs === null || Array.isArray(epochs)) return { epochs: {} };
  const valid = Object.entries(epochs as Record<string, unknown>).filter(([, n]) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0);
  return { epochs: Object.fromEntries(valid) as Record<string, number> };
}

/** A service's epoch in a state. */
export function epochOf(state: WatchdogState, service: string): number {
  return Object.hasOwn(state.epochs, service) ? (state.epochs[service] ?? 0) : 0;
}

/** True when a look shows the service unhealthy (not running on 2 looks, or 3 failed checks, in a row). */
export function unhealthy(look: ServiceLook): boolean {
  return look.downLooks >= DOWN_LOOKS || look.checkFailures >= CHECK_FAILURES;
}

/** Why a look is unhealthy, in a few words for operators and logs; null when it is not. */
export function reason(look: ServiceLook): string | null {
  const why: string[] = [];
  const status = look.status.trim().slice(0, 40);
  if (look.downLooks >= DOWN_LOOKS) why.push(`not running${status ? ` (${status})` : ''} on ${look.downLooks} looks in a row`);
  if (look.checkFailures >= CHECK_FAILURES) why.push(`check failed ${look.checkFailures} times in a row`);
  return why.length > 0 ? why.join(', ') : null;
}

/** The services the configuration asks to watch that exist, and a problem for each name that cannot be watched. */
export function watched(s: Snapshot): { services: string[]; problems: string[] } {
  const list = s.config.watchdog;
  const looks = s.looks;
  if (list === null || looks === null) return { services: [], problems: [] };
  const services: string[] = [];
  const problems: string[] = [];
  if (list === 'all') services.push(...Object.keys(looks).filter((n) => n !== s.ownService).sort());
  else {
    for (const name of new Set(list)) {
      if (name === s.ownService) problems.push(`watchdog: cannot watch its own service ${name}`);
      else if (!Object.hasOwn(looks, name)) problems.push(`watchdog: no service named ${name}`);
      else services.push(name);
    }
  }
  // A check URL nobody asks is a setting without effect: said, not ignored.
  for (const name of Object.keys(s.config.checks).sort()) {
    if (!services.includes(name)) problems.push(`watchdog: the check URL of ${name} is not asked (${name} is not watched)`);
  }
  return { services, problems };
}

/** True when the operator's newest service command naming it is a stop-service done or running. */
export function stoppedOnPurpose(journal: readonly JournalEntry[], service: string): boolean {
  const last = journal.findLast((e) => byOperator(originOf(e)) && specOf(e.command)?.serviceVerb != null && e.services.includes(service));
  return last?.command === 'stop-service' && (last.state === 'done' || last.state === 'running');
}

/** The key of step `k` of a service's ladder in an epoch: `watchdog@<service>:<epoch>.<k>`. */
export function stepKey(service: string, epoch: number, k: number): string {
  return behaviourKey('watchdog', `${service}:${epoch}.${k}`);
}

/** The service, epoch and step a watchdog key names; null for any other key. */
export function parseStepKey(key: string): { service: string; epoch: number; k: number } | null {
  const match = /^watchdog@(.+):(\d+)\.(\d+)$/.exec(key);
  if (!match) return null;
  return { service: match[1] ?? '', epoch: Number(match[2]), k: Number(match[3]) };
}

/** The intent of step `k` (`step`) of a service's ladder in an epoch. */
export function stepIntent(service: string, epoch: number, k: number, step: LadderStep): Intent {
  return {
    key: stepKey(service, epoch, k),
    origin: 'watchdog',
    command: step,
    args: { services: step === 'restart-service' ? [service] : [] },
    force: false,
  };
}

/** The cool-off that follows step i. */
export function coolOffMs(i: number): number {
  return COOL_OFFS_MS[Math.min(i, COOL_OFFS_MS.length - 1)] ?? 0;
}

/** True while an entry may still run or is running (not terminal, or still in the runner). */
function isOpen(s: Snapshot, e: JournalEntry): boolean {
  return !TERMINAL.has(e.state) || s.inProgress.has(entryKey(e.command, e.token));
}

/** The watchdog's entries of one service's epoch, by step number. */
function taken(journal: readonly JournalEntry[], service: string, epoch: number): Map<number, JournalEntry> {
  const out = new Map<number, JournalEntry>();
  const prefix = stepKey(service, epoch, 0).slice(0, -1);
  for (const e of journal) {
    if (originOf(e) !== 'watchdog' || !e.token.startsWith(prefix)) continue;
    const k = e.token.slice(prefix.length);
    if (/^\d+$/.test(k)) out.set(Number(k), e);
  }
  return out;
}

/** Where an unhealthy service stands on its ladder. */
export type Next = { k: number; step: LadderStep } | 'wait' | 'exhausted';

/**
 * The next step of an unhealthy service's ladder in its epoch: step 0 when none was taken; after
 * step k-1, step k once k-1 is terminal and its cool-off has passed (wall time since its last
 * change); `exhausted` when the ladder has no step k. k is one past the highest step taken, which
 * is the number of steps taken unless the journal trimmed an old one: a step is never repeated.
 */
export function nextStep(s: Snapshot, service: string, epoch: number): Next {
  const ladder = s.config.watchdogLadder;
  const steps = taken(s.journal, service, epoch);
  const k = steps.size === 0 ? 0 : Math.max(...steps.keys()) + 1;
  const previous = steps.get(k - 1);
  if (previous !== undefined && (isOpen(s, previous) || s.wall - previous.updatedAt < coolOffMs(k - 1))) return 'wait';
  const step = ladder[k];
  return step === undefined ? 'exhausted' : { k, step };
}

/** True for a watchdog intent that is open in the journal or in the runner (`appWide`: restart or reboot only). */
function watchdogOpen(s: Snapshot, appWide: boolean): boolean {
  const counts = (command: string) => !appWide || command !== 'restart-service';
  if (s.journal.some((e) => originOf(e) === 'watchdog' && counts(e.command) && isOpen(s, e))) return true;
  for (const key of s.inProgress) {
    const space = key.indexOf(' ');
    if (space > 0 && key.startsWith(behaviourKey('watchdog', ''), space + 1) && counts(key.slice(0, space))) return true;
  }
  return false;
}

/** Decides, from a snapshot, which ladder steps to take now (see the module comment). */
export function decide(s: Snapshot): Decision {
  const looks = s.looks;
  if (s.config.watchdog === null || looks === null || s.updating) return { proposals: [] };
  const { services, problems } = watched(s);
  const state = readState(s.state.watchdog);
  const epochs: Record<string, number> = { ...state.epochs };
  let changed = false;
  const appWideOpen = watchdogOpen(s, true);
  const proposals: Proposal[] = [];
  const appWide: { service: string; epoch: number; k: number; step: LadderStep }[] = [];
  for (const service of services) {
    const look = looks[service];
    if (look === undefined || stoppedOnPurpose(s.journal, service)) continue;
    const epoch = epochOf(state, service);
    if (!unhealthy(look)) {
      const healthyLong = look.healthySince !== null && s.now - look.healthySince >= HEALTHY_RESET_MS;
      if (healthyLong && taken(s.journal, service, epoch).size > 0) {
        epochs[service] = epoch + 1;
        changed = true;
      }
      continue;
    }
    const next = nextStep(s, service, epoch);
    if (next === 'wait') continue;
    if (next === 'exhausted') {
      problems.push(`watchdog: ${service} still unhealthy after the whole ladder; waiting for an operator (${reason(look) ?? 'unhealthy'})`);
      continue;
    }
    if (appWideOpen) continue;
    if (next.step === 'restart-service') proposals.push({ intent: stepIntent(service, epoch, next.k, next.step) });
    else appWide.push({ service, epoch, ...next });
  }
  // A restart or reboot acts on every service: one at a time, the mildest first, and none while
  // any other step of the watchdog is open or proposed now (its outcome is not known yet).
  if (appWide.length > 0 && proposals.length === 0 && !watchdogOpen(s, false)) {
    const rank = (step: LadderStep) => LADDER_STEPS.indexOf(step);
    const [first] = appWide.sort((a, b) => rank(a.step) - rank(b.step) || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
    if (first) proposals.push({ intent: stepIntent(first.service, first.epoch, first.k, first.step) });
  }
  return {
    proposals,
    ...(changed ? { state: { epochs } satisfies WatchdogState } : {}),
    ...(problems.length > 0 ? { problems } : {}),
  };
}

/** The watchdog behaviour. */
export const watchdog: Behaviour = {
  name: 'watchdog',
  level: false,
  enabled: (s) => s.config.watchdog !== null,
  decide,
  // A maintenance window holds its restart and reboot steps, not its restart-service: the service
  // is already down, and restarting it disturbs nothing that still works.
  holds: (command) => command !== 'restart-service' && specOf(command)?.disruptive === true,
};
