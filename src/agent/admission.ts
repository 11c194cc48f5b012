/**
 * The admission step: every proposal of every behaviour passes here before the runner, so the
 * rules that protect a device hold whoever asks. Pure: a snapshot and proposals in, actions out.
 *
 * In this order:
 * 1. **Resume**: an open intent of a non-level behaviour (deferred, or accepted and not queued)
 *    is proposed again even when its behaviour no longer asks — a deferred reboot runs when the
 *    budget returns, or is replaced; it is never dropped.
 * 2. **Supersede**: an intent that never started is closed when a newer one replaces it — for a
 *    level behaviour (the operator's tags) when its key is no longer proposed (by any behaviour:
 *    device and fleet tags share one token namespace); a fleet command is closed `cancelled`; for the others, a
 *    reboot or shutdown (what waits on the budget) when the behaviour proposes a new key of the
 *    same command: the device goes down once, for the newest. Judged on what the behaviours
 *    propose, not on what rule 1 resumes. A call that may be in flight is never closed.
 * 3. **Already settled**: a key whose entry is finished, running, or queued does nothing.
 * 4. **Refused** proposals are recorded `rejected`.
 * 5. **Cancelled**: a fleet command whose rollout was aborted is `cancelled` unless it started.
 * 6. **Allow-list**: an operator's command (device or fleet tag) not in AGENT_ACTIONS is `rejected`.
 * 7. **When**: start at T, because of its rollout wave (a fleet command's `rollout=`/`from=`) or
 *    a maintenance window (AGENT_MAINTENANCE_WINDOW, for what the command table calls disruptive
 *    and its behaviour holds, unless the word `now` was given); both combine as the later of the
 *    two (the first window opening at or after the wave's start). A T still ahead is `scheduled`,
 *    recorded again only when T or its reason changes; the agent's one `starts` timer wakes a
 *    round at the earliest T of every scheduled intent (agent.ts).
 * 8. **The shared reboot budget**: a reboot or shutdown from any origin beyond
 *    AGENT_MAX_REBOOTS_PER_DAY in 24 h (counting those accepted and not yet sent) is `deferred`.
 */
import { TERMINAL } from './acks.js';
import { refOf, type Action } from './actions.js';
import type { Behaviour } from './behaviours/behaviour.js';
import { specOf } from './commands.js';
import { byOperator, entryKey, intentOf, originOf, type Intent, type Origin, type Proposal } from './intent.js';
import type { JournalEntry, WaitReason } from './journal.js';
import { earliestStart } from './window.js';
import type { Snapshot } from './snapshot.js';

/** The proposals of one behaviour, as its decide returned them. */
export interface Proposed {
  behaviour: Pick<Behaviour, 'name' | 'level' | 'holds'>;
  proposals: readonly Proposal[];
  /** The behaviour is switched off: what it left waiting is withdrawn. */
  off?: true;
}

/** True for an entry that has not started and has nothing in flight (it may still be closed). */
function open(e: JournalEntry): boolean {
  return e.state === 'accepted' || e.state === 'deferred' || e.state === 'scheduled' || (e.state === 'running' && !e.sending);
}

/** Whether a maintenance window holds this intent (rule 7): disruptive, held by its behaviour, no `now`. */
function heldByWindow(behaviour: Proposed['behaviour'], intent: Intent): boolean {
  if (intent.now === true) return false;
  return behaviour.holds ? behaviour.holds(intent.command) : specOf(intent.command)?.disruptive === true;
}

/** When an intent may start (rule 7), and why it waits; null when it may start now. */
function startOf(snapshot: Snapshot, behaviour: Proposed['behaviour'], intent: Intent): { at: number; reason: WaitReason; detail: string } | null {
  const { wall, config } = snapshot;
  let at = wall;
  let reason: WaitReason | null = null;
  if (intent.wave && intent.wave.startAt > at) {
    at = intent.wave.startAt;
    reason = 'wave';
  }
  if (config.maintenanceWindow !== null && heldByWindow(behaviour, intent)) {
    const opens = earliestStart(config.maintenanceWindow, config.timeZone, at);
    if (opens > at) {
      at = opens;
      reason = 'window';
    }
  }
  if (reason === null) return null;
  const label = intent.wave?.label;
  const detail = reason === 'wave' ? (label ?? 'wave') : label ? `window (${label})` : 'window';
  return { at, reason, detail };
}

function shown(key: string): string {
  return key.startsWith('#') ? 'a new tag value' : key;
}

function deferral(budget: Snapshot['budget'], used: number): string {
  const when = budget.max === 0
    ? 'reboots are disabled here (max-reboots-per-day is 0)'
    : budget.releaseAtWall === null
      ? 'another reboot or shutdown is pending; runs once the budget allows'
      : `runs after ${new Date(budget.releaseAtWall).toISOString()}`;
  return `reboot budget spent (${used} of ${budget.max} in 24 h); ${when}`;
}

/** Closes what newer intents replace (rule 2), from the proposals as the behaviours made them (not resumed). */
function superseded(snapshot: Snapshot, all: readonly Proposed[]): Action[] {
  const out: Action[] = [];
  const byOrigin = new Map<Origin, Proposed>(all.map((p) => [p.behaviour.name, p]));
  for (const e of snapshot.journal) {
    const origin = originOf(e);
    const mine = byOrigin.get(origin);
    if (!mine) continue;
    // A token with a call in flight is included while its job lives, so that the job stops
    // retrying; the dispatcher never closes it (its outcome is recorded by the job).
    const inFlight = e.state === 'running' && e.sending && snapshot.inProgress.has(entryKey(e.command, e.token));
    if (!open(e) && !inFlight) continue;
    const same = mine.proposals.filter((p) => p.intent.command === e.command);
    if (same.some((p) => p.intent.key === e.token)) continue;
    let detail: string | undefined;
    if (mine.behaviour.level) {
      // Still named by the other tag (the device's or the fleet's): one namespace, not withdrawn.
      if (all.some((p) => p.behaviour.level && p.proposals.some((x) => x.intent.command === e.command && x.intent.key === e.token))) continue;
      detail = same[0]
        ? `superseded by ${shown(same[0].intent.key)} before it ${origin === 'fleet' ? 'started here' : 'ran'}`
        : origin === 'fleet'
          ? mine.off === true ? 'fleet commands are off on this device (fleet-commands=off)' : 'the fleet tag was removed before it started here'
          : origin === 'operator' ? 'withdrawn: the tag was removed before it ran' : 'withdrawn: no longer wanted';
    } else if (specOf(e.command)?.power === true) {
      // Only what waits on the budget is replaced: a behaviour's other intents run at once, and
      // may be several of one command at a time (the watchdog's restart of two services). And
      // only by an intent that will run: a slot refused as missed replaces nothing.
      const newer = same.find((p) => p.refuse === undefined && p.hold !== true && !snapshot.journal.some((j) => j.command === p.intent.command && j.token === p.intent.key));
      if (newer) detail = `superseded by ${newer.intent.key} before it ran`;
    }
    if (detail !== undefined) out.push({ kind: origin === 'fleet' ? 'cancel' : 'supersede', ...refOf(intentOf(e)), detail });
  }
  return out;
}

/** Open intents of non-level behaviours that their behaviour no longer proposes (rule 1). */
function resumed(snapshot: Snapshot, all: readonly Proposed[]): Proposed[] {
  return all.map((p) => {
    if (p.behaviour.level) return p;
    const keys = new Set(p.proposals.map((x) => entryKey(x.intent.command, x.intent.key)));
    const again = snapshot.journal
      .filter((e) => originOf(e) === p.behaviour.name && open(e) && !keys.has(entryKey(e.command, e.token)))
      .map((e) => ({ intent: intentOf(e) }));
    return again.length === 0 ? p : { behaviour: p.behaviour, proposals: [...again, ...p.proposals] };
  });
}

/** Decides what may run now, from every behaviour's proposals. */
export function admit(snapshot: Snapshot, proposed: readonly Proposed[]): Action[] {
  const { config, journal, inProgress, budget } = snapshot;
  const all = resumed(snapshot, proposed);
  // On the proposals as made: every open entry is among the resumed ones, so none would ever look replaced.
  const actions: Action[] = superseded(snapshot, proposed);
  const closing = new Set(actions.map((a) => entryKey(a.command, a.token)));
  const find = (command: string, token: string) => journal.find((e) => e.command === command && e.token === token);
  // Reboots and shutdowns accepted but not yet sent hold a place in the budget (no stamp yet).
  const pendingPower = (self: string) =>
    journal.filter((e) => specOf(e.command)?.power === true && (e.state === 'accepted' || (e.state === 'running' && !e.sending)) && !closing.has(entryKey(e.command, e.token)) && entryKey(e.command, e.token) !== self).length;
  let powerNow = 0;
  // One answer per key and round: a token on both the device's and the fleet's tag is decided by
  // the first (the device's), never run and cancelled at once.
  const decided = new Set<string>();
  for (const { behaviour, proposals } of all) {
    for (const p of proposals) {
      const { intent } = p;
      const key = entryKey(intent.command, intent.key);
      const entry = find(intent.command, intent.key);
      if (p.hold === true || closing.has(key) || decided.has(key)) continue;
      decided.add(key);
      if (entry && (TERMINAL.has(entry.state) || entry.state === 'running')) continue;
      if (inProgress.has(key)) continue;
      const ref = refOf(intent);
      if (p.cancel !== undefined) {
        actions.push({ kind: 'cancel', ...ref, detail: p.cancel });
        continue;
      }
      if (p.refuse !== undefined) {
        actions.push({ kind: 'reject', ...ref, detail: p.refuse });
        continue;
      }
      if (byOperator(intent.origin) && !config.actions.includes(intent.command)) {
        actions.push({ kind: 'reject', ...ref, detail: `${intent.command} is not allowed here (add it to AGENT_ACTIONS)` });
        continue;
      }
      const wait = startOf(snapshot, behaviour, intent);
      if (wait !== null) {
        // Recorded once; again only when what it tells the operator (start, reason) has changed.
        if (entry?.state !== 'scheduled' || entry.startAt !== wait.at || entry.detail !== wait.detail) actions.push({ kind: 'schedule', ...ref, detail: wait.detail, reason: wait.reason, startAt: wait.at });
        continue;
      }
      if (specOf(intent.command)?.power === true) {
        const used = budget.used + pendingPower(key) + powerNow;
        if (used >= budget.max) {
          const detail = deferral(budget, used);
          // Deferred once; recorded again only when what it tells the operator has changed.
          if (entry?.state !== 'deferred' || entry.detail !== detail) actions.push({ kind: 'defer', ...ref, detail });
          continue;
        }
        powerNow += 1;
      }
      actions.push({ kind: 'run', ...ref });
    }
  }
  return actions;
}
