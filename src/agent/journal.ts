/**
 * The journal: persisted intents that make operator commands run exactly once, across agent
 * crashes, container restarts, the reboot itself and a purge of the agent's own data volume.
 *
 * Each command token gets an entry, written (atomically, fsynced) BEFORE its effect:
 * `accepted` (validated, nothing sent) → `running` with `sending: true` just before each call →
 * a terminal state, or back to `sending: false` when the call definitely did not reach the
 * supervisor (connection refused, 423). `sending: true` therefore means "the effect may have
 * happened", and such an entry is never sent again. What else is made durable before a call, and
 * what evidence turns an unanswered call into `done`, is the rule written in evidence.ts.
 *
 * Reconciliation at start (the current boot id is read from the kernel) decides only what needs
 * no supervisor:
 * - reboot/shutdown `running` (sending or waiting on a lock), boot id changed → `done`: the
 *   device rebooted, which is what was asked; it is never sent again.
 * - `running`, not sending → `accepted`: nothing was in flight, it is resumed.
 * - identify, update, start-service, sending → `accepted`: harmless to repeat, they are resumed
 *   (at-least-once).
 * - every other `running` + `sending` entry (a reboot in the same boot, a restart, a purge, a
 *   service restart or stop) stays so: `unsettled()` lists them, and the agent watches for the
 *   evidence (evidence.ts) before it writes `done` or `failed`. None is ever sent again.
 *
 * A missing or corrupt journal (the corrupt file is kept aside as `*.corrupt`) is rebuilt from the
 * ack tags in the cloud (`importAcks`), so an acknowledged token never runs again. A journal that
 * was missing at load while the cloud holds a purge `running` ack is a wiped data volume: that
 * purge happened (effect.ts writes that ack to the cloud before it calls purge).
 * The file stays small: the last `keepPerCommand` finished tokens per command are kept.
 *
 * Entries are kept in the order they last changed (a changed entry moves to the end), so "the
 * newest token of a command" never depends on the wall clock, which NTP may step backwards.
 * A write that fails (full disk) is undone in memory as well, so memory never claims a state the
 * disk does not hold: callers send nothing, and the agent retries at the next poll.
 */
import type { Clock } from '../lib/clock.js';
import { parseAck, TERMINAL, NO_TOKEN, type AckState } from './acks.js';
import { clampFuture } from './budget.js';
import { isCommand, specOf } from './commands.js';
import { newEntry, reportSlot, type Intent, type Origin } from './intent.js';
import { decode, type JournalData } from './journal-codec.js';
import { JournalStore } from './journal-store.js';

/** What a `scheduled` intent waits for. */
export type WaitReason = 'wave' | 'window';

/** What the journal needs from its file (tests inject one whose writes fail). */
export type JournalFile = Pick<JournalStore, 'path' | 'read' | 'write' | 'quarantine'>;

/** One intent as persisted (intent.ts builds them). */
export interface JournalEntry {
  command: string;
  /** The intent's key: an operator's token, or `<behaviour>@<id>`. */
  token: string;
  /** Who wanted it; absent for the operator (and in journals written before origins existed). */
  origin?: Origin;
  state: AckState;
  detail: string;
  /** Kernel boot id when the entry last changed. */
  bootId: string;
  attempts: number;
  /** True while the effect may have reached the supervisor without a known outcome. */
  sending: boolean;
  force: boolean;
  services: readonly string[];
  /** Wall time the command was accepted (the lock wait counts from here). */
  createdAt: number;
  updatedAt: number;
  /** The word `now` was given: the intent starts outside a maintenance window. */
  now?: true;
  /** A fleet rollout's start for this device's waves: `from=`, or when the device first saw the token. */
  t0?: number;
  /** While `scheduled`: when it starts, and what it waits for (its wave, or a maintenance window). */
  startAt?: number;
  reason?: WaitReason;
  /** Wall time of the latest call (a watch for evidence counts from here). */
  sentAt?: number;
  /**
   * Service name → container id just before the call, for commands that recreate containers
   * (→ status, for stop-service); null when the supervisor could not say (the call is then made
   * without evidence to compare).
   */
  before?: Readonly<Record<string, string>> | null;
}

/** What loading found. */
export type LoadStatus = 'ok' | 'missing' | 'corrupt';

/** One change made by reconciliation, for logs and tests. */
export interface Reconciled {
  command: string;
  token: string;
  from: AckState;
  to: AckState;
  detail: string;
}

/** Dependencies of the journal. */
export interface JournalOptions {
  dir: string;
  clock: Clock;
  keepPerCommand?: number;
  /** The file (default: a JournalStore in `dir`). */
  store?: JournalFile;
}

/** Persisted command intents and the reboot budget stamps. */
export class Journal {
  private data: JournalData = { version: 1, entries: [], reboots: [] };
  private chain: Promise<void> = Promise.resolve();
  private readonly store: JournalFile;
  /** False after a write failed (until one succeeds). */
  writable = true;
  /** Where a corrupt file was moved, if one was. */
  quarantined: string | undefined;

  constructor(private readonly opts: JournalOptions) {
    this.store = opts.store ?? new JournalStore(opts.dir);
  }

  /** The journal file's path. */
  get path(): string {
    return this.store.path;
  }

  /** Reads the file; a corrupt one is moved aside and the journal starts empty. */
  async load(): Promise<LoadStatus> {
    const read = await this.store.read();
    if (read.status === 'missing') {
      // A first start or a wiped data volume: remembered on disk until the ack tags have been
      // read once, so that a kill before the first good poll does not forget it.
      this.data.fresh = true;
      return 'missing';
    }
    const parsed = read.status === 'ok' ? decode(read.text) : undefined;
    if (parsed) {
      this.data = parsed;
      return 'ok';
    }
    this.quarantined = await this.store.quarantine(this.opts.clock.wall());
    return 'corrupt';
  }

  /** Every entry, in the order they last changed (most recent last). */
  entries(): readonly JournalEntry[] {
    return this.data.entries;
  }

  /** The entry of one token. */
  get(command: string, token: string): JournalEntry | undefined {
    return this.data.entries.find((e) => e.command === command && e.token === token);
  }

  /** Reboot stamps, re-anchored if the wall clock stepped back (see budget.ts). */
  rebootStamps(): readonly number[] {
    this.data.reboots = clampFuture(this.data.reboots, this.opts.clock.wall());
    return this.data.reboots;
  }

  /**
   * Stores an entry (new or changed; it becomes the most recent) and persists the journal before
   * resolving. `reboot: 'add'` adds a budget stamp, `'remove'` takes back the newest one (the call
   * was refused). `place: 'keep'` leaves a known entry where it is (closing an old token must not
   * make it the command's most recent). When the write fails, the change is undone in memory too
   * and the error thrown.
   */
  async put(entry: JournalEntry, reboot?: 'add' | 'remove', place: 'latest' | 'keep' = 'latest'): Promise<void> {
    const i = this.data.entries.findIndex((e) => e.command === entry.command && e.token === entry.token);
    const previous = i >= 0 ? this.data.entries[i] : undefined;
    const stored = { ...entry, services: [...entry.services], updatedAt: this.opts.clock.wall() };
    if (i >= 0 && place === 'keep') this.data.entries[i] = stored;
    else {
      if (i >= 0) this.data.entries.splice(i, 1);
      this.data.entries.push(stored);
    }
    const stamp = this.opts.clock.wall();
    let removed: number | undefined;
    if (reboot === 'add') this.data.reboots.push(stamp);
    if (reboot === 'remove') removed = this.data.reboots.pop();
    this.trim();
    try {
      await this.persist();
    } catch (err) {
      const at = this.data.entries.indexOf(stored);
      if (at >= 0) {
        if (previous) this.data.entries.splice(at, 1, previous);
        else this.data.entries.splice(at, 1);
      }
      if (reboot === 'add') {
        const s = this.data.reboots.lastIndexOf(stamp);
        if (s >= 0) this.data.reboots.splice(s, 1);
      }
      if (removed !== undefined) this.data.reboots.push(removed);
      throw err;
    }
  }

  /**
   * Stores several entries (each as `put` with `place`) with ONE write: outcomes that need no call
   * (rejections, deferrals) of a whole poll cost one fsync, however many tags there are.
   */
  async putAll(changes: ReadonlyArray<{ entry: JournalEntry; place: 'latest' | 'keep' }>): Promise<void> {
    if (changes.length === 0) return;
    const saved = [...this.data.entries];
    for (const { entry, place } of changes) {
      const i = this.data.entries.findIndex((e) => e.command === entry.command && e.token === entry.token);
      const stored = { ...entry, services: [...entry.services], updatedAt: this.opts.clock.wall() };
      if (i >= 0 && place === 'keep') this.data.entries[i] = stored;
      else {
        if (i >= 0) this.data.entries.splice(i, 1);
        this.data.entries.push(stored);
      }
    }
    this.trim();
    try {
      await this.persist();
    } catch (err) {
      this.data.entries = saved;
      throw err;
    }
  }

  /** Entries whose call may have reached the supervisor with no known outcome: the agent watches for evidence. */
  unsettled(): JournalEntry[] {
    return this.data.entries.filter((e) => e.state === 'running' && e.sending && specOf(e.command)?.destructive === true);
  }

  /** The most recently changed entry of each report slot (each command for the operator, each behaviour). */
  latest(): Map<string, JournalEntry> {
    const out = new Map<string, JournalEntry>();
    for (const e of this.data.entries) out.set(reportSlot(e), e);
    return out;
  }

  /** A behaviour's persisted state (what its decide needs to remember across restarts). */
  state(name: string): unknown {
    return this.data.state?.[name];
  }

  /** Replaces behaviours' states and persists them (with every entry) before resolving; undone in memory when the write fails. */
  async setStates(states: Readonly<Record<string, unknown>>): Promise<void> {
    const saved = this.data.state;
    this.data.state = { ...saved, ...states };
    try {
      await this.persist();
    } catch (err) {
      if (saved) this.data.state = saved;
      else delete this.data.state;
      throw err;
    }
  }

  /** Writes the journal as it is now (serialised; the last write wins). */
  persist(): Promise<void> {
    const text = `${JSON.stringify(this.data)}\n`;
    const write = this.chain.then(() => this.store.write(text));
    this.chain = write.then(
      () => {
        this.writable = true;
      },
      () => {
        this.writable = false;
      },
    );
    return write;
  }

  /** Applies the start-up rules of the module comment; persists when anything changed. */
  async reconcile(bootId: string): Promise<Reconciled[]> {
    const changes: Reconciled[] = [];
    const moved: JournalEntry[] = [];
    for (const entry of this.data.entries) {
      const next = settle(entry, bootId);
      if (!next) continue;
      changes.push({ command: entry.command, token: entry.token, from: entry.state, to: next.state, detail: next.detail });
      Object.assign(entry, next, { updatedAt: this.opts.clock.wall() });
      moved.push(entry);
    }
    if (changes.length > 0) {
      this.data.entries = [...this.data.entries.filter((e) => !moved.includes(e)), ...moved];
      await this.persist();
    }
    return changes;
  }

  /**
   * Adds every token an ack tag names that the journal lacks (after a lost journal, or a first
   * start). Returns how many were added; persists when any were.
   */
  async importAcks(tags: Readonly<Record<string, string>>, prefix: string, bootId: string): Promise<number> {
    let added = 0;
    for (const [key, value] of Object.entries(tags)) {
      if (!key.startsWith(prefix) || !key.endsWith('.ack')) continue;
      const command = key.slice(prefix.length, -'.ack'.length);
      const ack = parseAck(value);
      // Only real commands: a rejected made-up name needs no journal entry (its ack is the record,
      // and decide() reads it), and importing hundreds of them would rewrite the file every poll.
      if (!command || !isCommand(command) || !ack || ack.token === NO_TOKEN || this.get(command, ack.token)) continue;
      let state = ack.state;
      let detail = ack.detail;
      if (state === 'running') {
        if (specOf(command)?.wipesData === true && this.data.fresh === true) {
          // The ack reached the cloud before the call, and the journal that recorded the intent
          // is gone: the data volume was wiped, which is what the purge does.
          state = 'done';
          detail = 'the data volume was wiped';
        } else if (specOf(command)?.destructive === true) {
          // Outcome unknown and the intent record is gone: never send it again.
          state = 'failed';
          detail = 'journal lost while running; not repeated';
        } else state = 'accepted';
      }
      const intent: Intent = { key: ack.token, origin: 'operator', command, args: { services: [] }, force: false };
      this.data.entries.push(newEntry(intent, { bootId, wall: ack.atWall }, state, detail));
      added += 1;
    }
    const wasFresh = this.data.fresh === true;
    delete this.data.fresh;
    if (added > 0 || wasFresh) {
      this.trim();
      await this.persist();
    }
    return added;
  }

  private trim(): void {
    const keep = this.opts.keepPerCommand ?? 20;
    // Per command and origin: a behaviour's history never pushes an operator's tokens out.
    const byCommand = new Map<string, JournalEntry[]>();
    for (const e of this.data.entries) {
      const slot = `${e.command} ${reportSlot(e)}`;
      const list = byCommand.get(slot);
      if (list) list.push(e);
      else byCommand.set(slot, [e]);
    }
    const dropped = new Set<JournalEntry>();
    for (const list of byCommand.values()) {
      // `list` is in change order, oldest first.
      const finished = list.filter((e) => TERMINAL.has(e.state));
      for (const e of finished.slice(0, Math.max(0, finished.length - keep))) dropped.add(e);
    }
    // Tags with made-up command names are rejected and recorded: only the latest token of each is
    // kept (its rejection is what the ack shows), for at most MADE_UP_NAMES names, the most recent.
    // A cap below the number of such tags on a device would drop and re-record them at every poll.
    // Real commands are never dropped here: forgetting a done reboot token would run it again.
    const made = [...byCommand.entries()].filter(([, list]) => !isCommand(list[0]?.command ?? ''));
    for (const [, list] of made) for (const e of list.slice(0, -1)) dropped.add(e);
    if (made.length > MADE_UP_NAMES) {
      const byRecency = made.sort((a, b) => this.data.entries.indexOf(b[1].at(-1)!) - this.data.entries.indexOf(a[1].at(-1)!));
      for (const [, list] of byRecency.slice(MADE_UP_NAMES)) for (const e of list) dropped.add(e);
    }
    if (dropped.size > 0) this.data.entries = this.data.entries.filter((e) => !dropped.has(e));
  }
}

/**
 * How many made-up command names the journal remembers (one token each). More are remembered by
 * their ack tags alone (decide() reads those), so this only bounds the journal's size.
 */
const MADE_UP_NAMES = 50;

function settle(entry: JournalEntry, bootId: string): Pick<JournalEntry, 'state' | 'detail' | 'sending'> | undefined {
  if (entry.state !== 'running') return undefined;
  const spec = specOf(entry.command);
  const powers = spec?.power === true;
  // A new boot while a reboot was pending is the reboot the operator asked for, sent or not.
  if (powers && entry.bootId !== bootId) return { state: 'done', detail: `new boot seen (${entry.command})`, sending: false };
  if (!entry.sending) return { state: 'accepted', detail: 'resumed after agent restart', sending: false };
  if (spec?.destructive !== true) return { state: 'accepted', detail: 'resumed after agent restart (harmless to repeat)', sending: false };
  // The call may have happened: the agent watches for evidence (evidence.ts); nothing is resent.
  const detail = 'agent restarted during the call; checking whether it happened';
  return entry.detail === detail ? undefined : { state: 'running', detail, sending: true };
}
