import type { Config } from '../config/schema.js';
import type { RebootBudget } from './budget.js';
import type { JournalEntry } from './journal.js';

/** Everything a behaviour may look at, frozen at one moment. Behaviours read nothing else. */
export interface Snapshot {
  /** Monotonic milliseconds. */
  readonly now: number;
  /** Wall-clock epoch milliseconds. */
  readonly wall: number;
  /** The configuration in effect (environment plus live tags). */
  readonly config: Config;
  readonly deviceTags: Readonly<Record<string, string>>;
  readonly fleetTags: Readonly<Record<string, string>>;
  /** Service names of the agent's app, or null when the supervisor could not be asked. */
  readonly services: readonly string[] | null;
  /** Image ids of the agent's app (decimal text) to their service names, or null when the supervisor could not say. */
  readonly serviceImages: Readonly<Record<string, string>> | null;
  readonly journal: readonly JournalEntry[];
  /** Keys (`entryKey`) of commands queued or running in the runner right now. */
  readonly inProgress: ReadonlySet<string>;
  /** The kernel's current boot id. */
  readonly bootId: string;
  readonly budget: RebootBudget;
}

/** The key of one command token in the runner and the snapshot. */
export function entryKey(command: string, token: string): string {
  return `${command} ${token}`;
}

/** Builds a frozen snapshot from its inputs (copies the collections). */
export function makeSnapshot(inputs: Snapshot): Snapshot {
  return Object.freeze({
    ...inputs,
    deviceTags: Object.freeze({ ...inputs.deviceTags }),
    fleetTags: Object.freeze({ ...inputs.fleetTags }),
    services: inputs.services === null ? null : Object.freeze([...inputs.services]),
    serviceImages: inputs.serviceImages === null ? null : Object.freeze({ ...inputs.serviceImages }),
    journal: Object.freeze(inputs.journal.map((e) => Object.freeze({ ...e }))),
    inProgress: new Set(inputs.inProgress),
    budget: Object.freeze({ ...inputs.budget }),
  });
}
