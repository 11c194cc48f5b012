/**
 * Actions as data, and the ONE executor table: a mapped type over `Action['kind']` makes the
 * compiler demand an executor for every kind.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import type { Observation } from './evidence.js';
import type { Journal, JournalEntry } from './journal.js';
import type { SupervisorPort, ServiceVerb } from './ports.js';
import { runEffect, watchEffect } from './effect.js';

/** Which command token an action belongs to, and its arguments. */
export interface CommandRef {
  command: string;
  token: string;
  force: boolean;
  services: readonly string[];
}

/** Everything the agent may do. */
export type Action =
  | (CommandRef & { kind: 'reboot' })
  | (CommandRef & { kind: 'shutdown' })
  | (CommandRef & { kind: 'restart' })
  | (CommandRef & { kind: 'purge' })
  | (CommandRef & { kind: 'identify' })
  | (CommandRef & { kind: 'update' })
  | (CommandRef & { kind: 'service' })
  /** Watches for the evidence of a call a killed process left without an answer (evidence.ts). */
  | (CommandRef & { kind: 'watch' })
  | (CommandRef & { kind: 'reject'; detail: string })
  | (CommandRef & { kind: 'defer'; detail: string })
  /** Closes an older token of a command that never started: its tag now names another token or is gone. */
  | (CommandRef & { kind: 'supersede'; detail: string });

/** Kinds that only record an outcome in the journal: no supervisor call, so they skip the runner. */
export const RECORD_ONLY: ReadonlySet<Action['kind']> = new Set(['reject', 'defer', 'supersede']);

/** True for an action that only records an outcome. */
export function isRecordOnly(action: Action): action is Extract<Action, { kind: 'reject' | 'defer' | 'supersede' }> {
  return RECORD_ONLY.has(action.kind);
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
  /** BALENA_SERVICE_NAME: the agent's own service. */
  ownService: string | undefined;
  /** The configuration in effect now (live settings change between polls). */
  config(): Config;
  bootId: string;
  random: () => number;
  /** Called after every persisted change of an entry (acks follow from it). */
  changed(entry: JournalEntry): void;
}

/** One executor per action kind. */
export type Executors = { [K in Action['kind']]: (action: Extract<Action, { kind: K }>, ctx: ExecContext) => Promise<void> };

const VERBS: Record<string, ServiceVerb> = { 'restart-service': 'restart', 'stop-service': 'stop', 'start-service': 'start' };

/** A record-only action's outcome as a journal entry, and where it goes (a closed old token keeps its place). */
export function recordOf(
  action: Extract<Action, { kind: 'reject' | 'defer' | 'supersede' }>,
  old: JournalEntry | undefined,
  bootId: string,
  wall: number,
): { entry: JournalEntry; place: 'latest' | 'keep' } {
  const state = action.kind === 'defer' ? 'deferred' : 'rejected';
  const entry: JournalEntry = {
    command: action.command, token: action.token, state, detail: action.detail, bootId, attempts: old?.attempts ?? 0,
    sending: false, force: old?.force ?? action.force, services: old?.services ?? action.services, createdAt: old?.createdAt ?? wall, updatedAt: wall,
  };
  return { entry, place: action.kind === 'supersede' ? 'keep' : 'latest' };
}

async function record(ctx: ExecContext, action: Extract<Action, { kind: 'reject' | 'defer' | 'supersede' }>): Promise<void> {
  const { entry, place } = recordOf(action, ctx.journal.get(action.command, action.token), ctx.bootId, ctx.clock.wall());
  await ctx.journal.put(entry, undefined, place);
  ctx.changed(entry);
}

/** The executor table. */
export const EXECUTORS: Executors = {
  reboot: (a, ctx) => runEffect(ctx, a, { awaitsBoot: true, call: (force) => ctx.supervisor.reboot({ force }) }),
  shutdown: (a, ctx) => runEffect(ctx, a, { awaitsBoot: true, call: (force) => ctx.supervisor.shutdown({ force }) }),
  restart: (a, ctx) => runEffect(ctx, a, { call: (force) => ctx.supervisor.restartApp({ force }) }),
  purge: (a, ctx) => runEffect(ctx, a, { call: (force) => ctx.supervisor.purge({ force }) }),
  identify: (a, ctx) => runEffect(ctx, a, { call: () => ctx.supervisor.blink() }),
  update: (a, ctx) =>
    runEffect(ctx, a, {
      call: async (force) => {
        const outcome = await ctx.supervisor.update({ force });
        return outcome === 'ignored' ? 'ignored by the supervisor (instant updates are off; add force)' : '';
      },
    }),
  service: (a, ctx) => {
    const verb = VERBS[a.command] ?? 'restart';
    const remaining = [...a.services];
    return runEffect(ctx, a, {
      call: async (force) => {
        // Services already handled in this run are not repeated when a later one hits a lock.
        while (remaining.length > 0) {
          await ctx.supervisor.serviceAction(verb, remaining[0] ?? '', { force });
          remaining.shift();
        }
        return '';
      },
    });
  },
  watch: async (a, ctx) => {
    const entry = ctx.journal.get(a.command, a.token);
    if (entry?.state === 'running' && entry.sending) await watchEffect(ctx, entry, 'agent restarted during the call');
  },
  reject: (a, ctx) => record(ctx, a),
  defer: (a, ctx) => record(ctx, a),
  supersede: (a, ctx) => record(ctx, a),
};

/** Runs an action through the table. */
export function execute(action: Action, ctx: ExecContext): Promise<void> {
  const run = EXECUTORS[action.kind] as (a: Action, c: ExecContext) => Promise<void>;
  return run(action, ctx);
}
