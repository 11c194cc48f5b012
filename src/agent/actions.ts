/**
 * Actions as data, and the ONE executor table: a mapped type over `Action['kind']` makes the
 * compiler demand an executor for every kind.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import type { Journal, JournalEntry } from './journal.js';
import type { SupervisorPort, ServiceVerb } from './ports.js';
import { runEffect } from './effect.js';

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
  | (CommandRef & { kind: 'reject'; detail: string })
  | (CommandRef & { kind: 'defer'; detail: string })
  /** Closes an older token of a command that never started: its tag now names another token or is gone. */
  | (CommandRef & { kind: 'supersede'; detail: string });

/** Kinds that only record an outcome in the journal: no supervisor call, so they skip the runner. */
export const RECORD_ONLY: ReadonlySet<Action['kind']> = new Set(['reject', 'defer', 'supersede']);

/** What an executor may use. */
export interface ExecContext {
  supervisor: SupervisorPort;
  journal: Journal;
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Aborts when the agent stops. */
  signal: AbortSignal;
  /** A clock sleep that does not count as busy (see Activity). */
  sleep(ms: number): Promise<void>;
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

async function record(ctx: ExecContext, action: CommandRef, state: 'rejected' | 'deferred', detail: string, place: 'latest' | 'keep' = 'latest'): Promise<void> {
  const old = ctx.journal.get(action.command, action.token);
  const wall = ctx.clock.wall();
  const entry: JournalEntry = {
    command: action.command, token: action.token, state, detail, bootId: ctx.bootId, attempts: old?.attempts ?? 0,
    sending: false, force: old?.force ?? action.force, services: old?.services ?? action.services, createdAt: old?.createdAt ?? wall, updatedAt: wall,
  };
  await ctx.journal.put(entry, undefined, place);
  ctx.changed(entry);
}

/** The executor table. */
export const EXECUTORS: Executors = {
  reboot: (a, ctx) => runEffect(ctx, a, { destructive: true, awaitsBoot: true, call: (force) => ctx.supervisor.reboot({ force }) }),
  shutdown: (a, ctx) => runEffect(ctx, a, { destructive: true, awaitsBoot: true, call: (force) => ctx.supervisor.shutdown({ force }) }),
  restart: (a, ctx) => runEffect(ctx, a, { destructive: true, call: (force) => ctx.supervisor.restartApp({ force }) }),
  purge: (a, ctx) => runEffect(ctx, a, { destructive: true, call: (force) => ctx.supervisor.purge({ force }) }),
  identify: (a, ctx) => runEffect(ctx, a, { destructive: false, call: () => ctx.supervisor.blink() }),
  update: (a, ctx) =>
    runEffect(ctx, a, {
      destructive: false,
      call: async (force) => {
        const outcome = await ctx.supervisor.update({ force });
        return outcome === 'ignored' ? 'ignored by the supervisor (instant updates are off; add force)' : '';
      },
    }),
  service: (a, ctx) => {
    const verb = VERBS[a.command] ?? 'restart';
    const remaining = [...a.services];
    return runEffect(ctx, a, {
      destructive: verb !== 'start',
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
  reject: (a, ctx) => record(ctx, a, 'rejected', a.detail),
  defer: (a, ctx) => record(ctx, a, 'deferred', a.detail),
  supersede: (a, ctx) => record(ctx, a, 'rejected', a.detail, 'keep'),
};

/** Runs an action through the table. */
export function execute(action: Action, ctx: ExecContext): Promise<void> {
  const run = EXECUTORS[action.kind] as (a: Action, c: ExecContext) => Promise<void>;
  return run(action, ctx);
}
