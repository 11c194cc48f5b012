/**
 * A behaviour: something the agent does on its own (or, for `operator`, on an operator's tag).
 * Its decide is pure — no I/O, no clock, no randomness: everything it reads is in the snapshot,
 * and everything it wants is in what it returns. The admission step (admission.ts) then decides
 * what may run now (allow-list, the shared reboot budget, supersede), and the runner runs it.
 */
import type { CommandName } from '../../config/schema.js';
import type { Origin, Proposal } from '../intent.js';
import type { Snapshot } from '../snapshot.js';

/** What one decide returns. */
export interface Decision {
  /** Intents to run (or to record as refused), each exactly once per key. */
  proposals: Proposal[];
  /** The behaviour's new persisted state, when it changed (persisted before any proposal runs). */
  state?: unknown;
  /** Problems an operator should see (health reasons), e.g. a watched service that does not exist. */
  problems?: string[];
}

/** One behaviour. */
export interface Behaviour {
  name: Origin;
  /**
   * True when every decide lists all the intents the behaviour still wants: an open entry of its
   * origin it no longer lists is withdrawn (an operator's tag that now names another token or was
   * removed). Otherwise an open entry stays until it runs or a newer key of its command replaces it.
   */
  level: boolean;
  /** Whether the behaviour has anything to do with this configuration (an idle one is not ticked). */
  enabled(snapshot: Snapshot): boolean;
  decide(snapshot: Snapshot): Decision;
  /**
   * The wall time the behaviour next needs to look, if it knows (a schedule's next slot): the
   * scheduler wakes the behaviours then. Null when only polls and the watchdog's interval matter.
   */
  nextWakeWall?(snapshot: Snapshot): number | null;
  /**
   * Which of its intents wait for a maintenance window when one is set (PRODUCT §3). Without it,
   * the command table's `disruptive` fact decides; a behaviour narrows it with its own rule.
   */
  holds?(command: CommandName): boolean;
}
