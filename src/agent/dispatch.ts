/**
 * Carries out decided actions: outcomes that need no supervisor call (reject, defer, supersede)
 * are recorded at once; effects are recorded `accepted` and queued on the exclusive runner.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import { TERMINAL } from './acks.js';
import { execute, RECORD_ONLY, type Action, type ExecContext } from './actions.js';
import type { Journal, JournalEntry } from './journal.js';
import type { SupervisorPort } from './ports.js';
import { PRIORITY, type JobContext, type Runner } from './runner.js';
import { entryKey } from './snapshot.js';

/** Dependencies of the dispatcher. */
export interface CommandDispatchOptions {
  journal: Journal;
  runner: Runner;
  supervisor: SupervisorPort;
  clock: Clock;
  log: Logger;
  bootId: string;
  random: () => number;
  /** The configuration in effect now. */
  config: () => Config;
  /** Called after every persisted change of an entry. */
  changed: () => void;
}

/** Turns actions into journal records and runner jobs. */
export class CommandDispatch {
  private readonly detached = new AbortController();

  constructor(private readonly opts: CommandDispatchOptions) {}

  /** Carries out one action; a journal that cannot be written means nothing is sent (retried next poll). */
  async dispatch(action: Action): Promise<void> {
    const { journal, runner, log } = this.opts;
    const key = entryKey(action.command, action.token);
    if (RECORD_ONLY.has(action.kind)) {
      if (action.kind === 'supersede') {
        // Re-checked now: the snapshot may be stale. The job never tries again; a call in flight
        // is not cut short, and such an entry is left to the job (closed at a later poll if it
        // ends without having run).
        const live = journal.get(action.command, action.token);
        if (!live || TERMINAL.has(live.state)) return;
        runner.cancel(key);
        if (live.sending) return;
      } else if (runner.has(key)) return;
      try {
        await execute(action, this.context({ signal: this.detached.signal, sleep: () => Promise.resolve() }));
      } catch (err) {
        log.error({ err, command: action.command }, `cannot record the ${action.kind} of a command`);
      }
      return;
    }
    if (runner.has(key)) return;
    const wall = this.opts.clock.wall();
    const old = journal.get(action.command, action.token);
    const entry: JournalEntry = {
      command: action.command, token: action.token, state: 'accepted', detail: '', bootId: this.opts.bootId,
      attempts: old?.attempts ?? 0, sending: false, force: action.force, services: action.services,
      // A deferred command is accepted only now: its lock wait starts here, not when it was deferred.
      createdAt: old && old.state !== 'deferred' ? old.createdAt : wall, updatedAt: wall,
    };
    try {
      await journal.put(entry);
    } catch (err) {
      log.error({ err, command: action.command }, 'cannot record the command; not running it');
      this.opts.changed();
      return;
    }
    this.opts.changed();
    void runner.enqueue(key, PRIORITY.operator, (job) => execute(action, this.context(job)));
  }

  private context(job: JobContext): ExecContext {
    return {
      supervisor: this.opts.supervisor,
      journal: this.opts.journal,
      clock: this.opts.clock,
      log: this.opts.log,
      signal: job.signal,
      sleep: (ms) => job.sleep(ms),
      config: this.opts.config,
      bootId: this.opts.bootId,
      random: this.opts.random,
      changed: () => this.opts.changed(),
    };
  }
}
