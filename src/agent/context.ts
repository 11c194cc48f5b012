/** What executors work with: the action's reference and the context the dispatcher gives them (shared by actions.ts and effect.ts). */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import type { Observation } from './evidence.js';
import type { Origin, WavePlace } from './intent.js';
import type { Journal, JournalEntry } from './journal.js';
import type { SupervisorPort } from './ports.js';

/** Which intent an action belongs to, and its arguments. */
export interface CommandRef {
  command: string;
  /** The intent's key (an operator's token, or `<behaviour>@<id>`). */
  token: string;
  origin: Origin;
  force: boolean;
  services: readonly string[];
  /** The word `now`: starts outside a maintenance window. */
  now?: true;
  /** A fleet rollout's wave for this device. */
  wave?: WavePlace;
}

/** What an executor may use. */
export interface ExecContext {
  supervisor: SupervisorPort;
  journal: Journal;
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Aborts when the agent stops or the job is cancelled (a newer token replaced it). */
  signal: AbortSignal;
  /** Aborts only when the agent stops. */
  stopSignal: AbortSignal;
  /** A clock sleep that does not count as busy (see Activity); `untilStop`: a cancel does not end it. */
  sleep(ms: number, opts?: { untilStop?: boolean }): Promise<void>;
  /** What the agent sees now, to judge a call without an answer (evidence.ts). */
  observe(entry: JournalEntry): Promise<Observation>;
  /** Each service's container id now, or null when the supervisor cannot say. */
  containerIds(): Promise<Readonly<Record<string, string>> | null>;
  /** Each service's status now (`Running`, `exited`…), or null when the supervisor cannot say. */
  serviceStatuses(): Promise<Readonly<Record<string, string>> | null>;
  /** Writes the entry's ack straight to the cloud; resolves once the cloud stored it. */
  recordInCloud(entry: JournalEntry): Promise<void>;
  /** Writes the entry's ack (or `.last`) now and waits for it, at most `withinMs`; never throws. */
  recordAck(entry: JournalEntry, withinMs: number): Promise<void>;
  /** BALENA_SERVICE_NAME: the agent's own service. */
  ownService: string | undefined;
  /** The configuration in effect now (live settings change between polls). */
  config(): Config;
  bootId: string;
  random: () => number;
  /** Called after every persisted change of an entry (acks follow from it). */
  changed(entry: JournalEntry): void;
}
