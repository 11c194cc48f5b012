import type { Config } from '../config/schema.js';
import type { RebootBudget } from './budget.js';
import type { JournalEntry } from './journal.js';

export { entryKey } from './intent.js';

/** What the watchdog knows of one service (from the supervisor and the service's check URL). */
export interface ServiceLook {
  /** The supervisor's status (`Running`, `exited`, `Downloading`…). */
  status: string;
  /** Looks in a row that found it not running (0 when it runs). */
  downLooks: number;
  /** Failed checks of its `AGENT_CHECK_<SERVICE>` URL in a row (0 without a URL). */
  checkFailures: number;
  /** Monotonic time since which it has looked healthy (running, check passing); null while not. */
  healthySince: number | null;
}

/** Everything a behaviour may look at, frozen at one moment. Behaviours read nothing else. */
export interface Snapshot {
  /** Monotonic milliseconds. */
  readonly now: number;
  /** Wall-clock epoch milliseconds. */
  readonly wall: number;
  /** The configuration in effect (environment plus live tags). */
  readonly config: Config;
  /** Tags as the last good poll read them (empty before one). */
  readonly deviceTags: Readonly<Record<string, string>>;
  readonly fleetTags: Readonly<Record<string, string>>;
  /** True once a poll has read the tags in this process: before, no tag may be taken as removed. */
  readonly tagsSeen: boolean;
  /** Service names of the agent's app, or null when the supervisor could not be asked. */
  readonly services: readonly string[] | null;
  /** Image ids of the agent's app (decimal text) to their service names, or null when the supervisor could not say. */
  readonly serviceImages: Readonly<Record<string, string>> | null;
  /** What the watchdog saw of each service; null when the supervisor could not be asked. */
  readonly looks: Readonly<Record<string, ServiceLook>> | null;
  /** The supervisor is applying an update to the app (its `updateStatus` is not `done`). */
  readonly updating: boolean;
  readonly journal: readonly JournalEntry[];
  /** Keys (`entryKey`) of intents queued or running in the runner right now. */
  readonly inProgress: ReadonlySet<string>;
  /** The kernel's current boot id. */
  readonly bootId: string;
  readonly budget: RebootBudget;
  /** The device's uuid (stable per-device offsets derive from it); '' before the first poll. */
  readonly uuid: string;
  /** BALENA_SERVICE_NAME: the agent's own service (never watched: it runs if this runs). */
  readonly ownService: string | undefined;
  /** Monotonic time this agent process started. */
  readonly startedAt: number;
  /** Monotonic time of the last successful cloud request in this process; null before one. */
  readonly lastContactAt: number | null;
  /** Wall time of that contact; null before one (an offline period is named by its last contact). */
  readonly lastContactWall: number | null;
  /** Each behaviour's persisted state (journal.ts), by behaviour name. */
  readonly state: Readonly<Record<string, unknown>>;
}

/** Builds a frozen snapshot from its inputs (copies the collections). */
export function makeSnapshot(inputs: Snapshot): Snapshot {
  return Object.freeze({
    ...inputs,
    deviceTags: Object.freeze({ ...inputs.deviceTags }),
    fleetTags: Object.freeze({ ...inputs.fleetTags }),
    services: inputs.services === null ? null : Object.freeze([...inputs.services]),
    serviceImages: inputs.serviceImages === null ? null : Object.freeze({ ...inputs.serviceImages }),
    looks: inputs.looks === null ? null : Object.freeze(Object.fromEntries(Object.entries(inputs.looks).map(([k, v]) => [k, Object.freeze({ ...v })]))),
    journal: Object.freeze(inputs.journal.map((e) => Object.freeze({ ...e }))),
    inProgress: new Set(inputs.inProgress),
    budget: Object.freeze({ ...inputs.budget }),
    state: Object.freeze({ ...inputs.state }),
  });
}
