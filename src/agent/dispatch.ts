/**
 * Carries out decided actions: outcomes that need no supervisor call (reject, defer, supersede)
 * are recorded at once, all of one poll in one journal write; effects are recorded `accepted` and
 * queued on the exclusive runner; a watch (evidence.ts) is queued without a new record.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import { TERMINAL } from './acks.js';
import { execute, isRecordOnly, recordOf, type Action, type ExecContext } from './actions.js';
import { recreatesContainers, type Observation } from './evidence.js';
import { byOperator, intentOfRef, newEntry } from './intent.js';
import type { Journal, JournalEntry } from './journal.js';
import type { SupervisorPort } from './ports.js';
import { PRIORITY, type JobContext, type Runner } from './runner.js';
import { entryKey } from './snapshot.js';

/** Operators' intents take the runner's slot before the agent's own behaviours'. */
function priorityOf(action: Action): number {
  return byOperator(action.origin) ? PRIORITY.operator : PRIORITY.behaviour;
}

/** Dependencies of the dispatcher. */
export interface CommandDispatchOptions {
  journal: Journal;
  runner: Runner;
  supervisor: SupervisorPort;
  clock: Clock;
  log: Logger;
  bootId: string;
  /** BALENA_SERVICE_NAME: the agent's own service. */
  ownService: string | undefined;
  random: () => number;
  /** The configuration in effect now. */
  config: () => Config;
  /**
   * Called after every persisted change of an entry; `dropped`: outcomes the journal did not keep
   * (made-up command names beyond its cap), whose ack must be written all the same.
   */
  changed: (dropped?: readonly JournalEntry[]) => void;
  /** Writes an entry's ack straight to the cloud (before a purge). */
  recordInCloud: (entry: JournalEntry) => Promise<void>;
  /** Writes an entry's ack now and waits for it, at most `withinMs` (before a reboot); never throws. */
  recordAck: (entry: JournalEntry, withinMs: number) => Promise<void>;
}

/** Turns actions into journal records and runner jobs. */
export class CommandDispatch {
  constructor(private readonly opts: CommandDispatchOptions) {}

  /** Carries out the actions of one decision: record-only outcomes in one journal write, then each effect. */
  async dispatchAll(actions: readonly Action[]): Promise<void> {
    const { journal, runner, log, clock, bootId } = this.opts;
    const records = [];
    for (const action of actions) {
      if (!isRecordOnly(action)) continue;
      const key = entryKey(action.command, action.token);
      if (action.kind === 'supersede') {
        // Re-checked now: the snapshot may be stale. The job never tries again; a call in flight
        // is not cut short, and such an entry is left to the job (closed at a later poll if it
        // ends without having run).
        const live = journal.get(action.command, action.token);
        if (!live || TERMINAL.has(live.state)) continue;
        runner.cancel(key);
        if (live.sending) continue;
      } else if (runner.has(key)) continue;
      records.push(recordOf(action, journal.get(action.command, action.token), bootId, clock.wall()));
    }
    if (records.length > 0) {
      try {
        await journal.putAll(records);
        this.opts.changed(records.map((r) => r.entry).filter((e) => !journal.get(e.command, e.token)));
      } catch (err) {
        log.error({ err, count: records.length }, 'cannot record the rejected, deferred or replaced commands; retried at the next poll');
        this.opts.changed();
      }
    }
    for (const action of actions) if (!isRecordOnly(action)) await this.dispatch(action);
  }

  /** Carries out one action; a journal that cannot be written means nothing is sent (retried next poll). */
  async dispatch(action: Action): Promise<void> {
    const { journal, runner, log } = this.opts;
    const key = entryKey(action.command, action.token);
    if (isRecordOnly(action)) {
      await this.dispatchAll([action]);
      return;
    }
    if (runner.has(key)) return;
    if (action.kind === 'watch') {
      // It sends nothing, and a newer token must not end it: only its evidence or a stop does.
      void runner.enqueue(key, priorityOf(action), (job) => execute(action, this.context(job)), { cancellable: false });
      return;
    }
    const old = journal.get(action.command, action.token);
    // A deferred intent is accepted only now: its lock wait starts here, not when it was deferred.
    const entry = { ...newEntry(intentOfRef(action), { bootId: this.opts.bootId, wall: this.opts.clock.wall() }, 'accepted', '', old), force: action.force, services: action.services };
    try {
      await journal.put(entry);
    } catch (err) {
      log.error({ err, command: action.command }, 'cannot record the command; not running it');
      this.opts.changed();
      return;
    }
    this.opts.changed();
    void runner.enqueue(key, priorityOf(action), (job) => execute(action, this.context(job)));
  }

  private async containerIds(): Promise<Readonly<Record<string, string>> | null> {
    try {
      return await this.opts.supervisor.containerIds();
    } catch (err) {
      this.opts.log.warn({ err }, 'cannot read container ids from the supervisor');
      return null;
    }
  }

  private async statuses(): Promise<Readonly<Record<string, string>> | null> {
    try {
      const out: Record<string, string> = {};
      for (const app of Object.values(await this.opts.supervisor.applicationsState())) {
        for (const [name, service] of Object.entries(app.services)) out[name] = service.status;
      }
      return out;
    } catch (err) {
      this.opts.log.warn({ err }, 'cannot read service states from the supervisor');
      return null;
    }
  }

  private async observe(entry: JournalEntry): Promise<Observation> {
    return {
      bootId: this.opts.bootId,
      containers: recreatesContainers(entry.command) ? await this.containerIds() : null,
      statuses: entry.command === 'stop-service' ? await this.statuses() : null,
      wiped: false,
    };
  }

  private context(job: JobContext): ExecContext {
    return {
      supervisor: this.opts.supervisor,
      journal: this.opts.journal,
      clock: this.opts.clock,
      log: this.opts.log,
      signal: job.signal,
      stopSignal: job.stopSignal,
      sleep: (ms, opts) => job.sleep(ms, opts),
      observe: (entry) => this.observe(entry),
      containerIds: () => this.containerIds(),
      serviceStatuses: () => this.statuses(),
      recordInCloud: (entry) => this.opts.recordInCloud(entry),
      recordAck: (entry, withinMs) => this.opts.recordAck(entry, withinMs),
      ownService: this.opts.ownService,
      config: this.opts.config,
      bootId: this.opts.bootId,
      random: this.opts.random,
      changed: () => this.opts.changed(),
    };
  }
}
