/**
 * The journal: persisted intents that make operator commands run exactly once, across agent
 * crashes, container restarts and the reboot itself.
 *
 * Each command token gets an entry, written (atomically, fsynced) BEFORE its effect:
 * `accepted` (validated, nothing sent) → `running` with `sending: true` just before each call →
 * a terminal state, or back to `sending: false` when the call definitely did not reach the
 * supervisor (connection refused, 423). `sending: true` therefore means "the effect may have
 * happened", and such an entry is never sent again.
 *
 * Reconciliation at start (the current boot id is read from the kernel):
 * - reboot/shutdown `running` (sending or waiting on a lock), boot id changed → `done`: the
 *   device rebooted, which is what was asked; it is never sent again.
 * - `running`, not sending → `accepted`: nothing was in flight, it is resumed.
 * - reboot/shutdown sending, same boot id → `failed` "reboot did not happen (same boot)". It is
 *   NOT repeated: the agent cannot tell "never sent" from "sent and refused later", and a second
 *   reboot is the worse mistake. The operator sets a new token to try again.
 * - restart/purge of the app, or restart/stop-service of the agent's own service, sending →
 *   `done`: these recreate the agent's own container, so the agent dying inside the call is the
 *   expected outcome and a new process at start is the evidence.
 * - restart/stop-service of another service, sending → `failed` "interrupted; not repeated".
 * - identify, update, start-service, sending → `accepted`: they are idempotent and are resumed.
 *
 * A missing or corrupt journal (the corrupt file is kept aside as `*.corrupt`) is rebuilt from the
 * ack tags in the cloud (`importAcks`), so an acknowledged token never runs again.
 * The file stays small: the last `keepPerCommand` finished tokens per command are kept.
 */
import type { Clock } from '../lib/clock.js';
import { ACK_STATES, parseAck, TERMINAL, NO_TOKEN, type AckState } from './acks.js';
import { clampFuture } from './budget.js';
import { JournalStore } from './journal-store.js';

/** One command token as persisted. */
export interface JournalEntry {
  command: string;
  token: string;
  state: AckState;
  detail: string;
  /** Kernel boot id when the entry last changed. */
  bootId: string;
  attempts: number;
  /** True while the effect may have reached the supervisor without a known outcome. */
  sending: boolean;
  force: boolean;
  services: readonly string[];
  createdAt: number;
  updatedAt: number;
}

interface JournalData {
  version: 1;
  entries: JournalEntry[];
  /** Wall times of agent-initiated reboots and shutdowns (the 24 h budget). */
  reboots: number[];
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

/** Commands whose effect must never happen twice for one token. */
export const DESTRUCTIVE: ReadonlySet<string> = new Set(['reboot', 'shutdown', 'restart', 'purge', 'restart-service', 'stop-service']);

/** True when the command recreates or stops the agent's own container. */
export function killsAgent(command: string, services: readonly string[], ownService: string | undefined): boolean {
  if (command === 'restart' || command === 'purge') return true;
  return (command === 'restart-service' || command === 'stop-service') && ownService !== undefined && services.includes(ownService);
}

/** Dependencies of the journal. */
export interface JournalOptions {
  dir: string;
  clock: Clock;
  keepPerCommand?: number;
}

/** Persisted command intents and the reboot budget stamps. */
export class Journal {
  private data: JournalData = { version: 1, entries: [], reboots: [] };
  private chain: Promise<void> = Promise.resolve();
  private readonly store: JournalStore;
  /** False after a write failed (until one succeeds). */
  writable = true;
  /** Where a corrupt file was moved, if one was. */
  quarantined: string | undefined;

  constructor(private readonly opts: JournalOptions) {
    this.store = new JournalStore(opts.dir);
  }

  /** The journal file's path. */
  get path(): string {
    return this.store.path;
  }

  /** Reads the file; a corrupt one is moved aside and the journal starts empty. */
  async load(): Promise<LoadStatus> {
    const read = await this.store.read();
    if (read.status === 'missing') return 'missing';
    const parsed = read.status === 'ok' ? decode(read.text) : undefined;
    if (parsed) {
      this.data = parsed;
      return 'ok';
    }
    this.quarantined = await this.store.quarantine(this.opts.clock.wall());
    return 'corrupt';
  }

  /** Every entry, oldest first. */
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
   * Stores an entry (new or changed) and persists the journal before resolving. `reboot: 'add'`
   * adds a budget stamp, `'remove'` takes back the newest one (the call was refused).
   */
  async put(entry: JournalEntry, reboot?: 'add' | 'remove'): Promise<void> {
    const i = this.data.entries.findIndex((e) => e.command === entry.command && e.token === entry.token);
    const stored = { ...entry, services: [...entry.services], updatedAt: this.opts.clock.wall() };
    if (i >= 0) this.data.entries[i] = stored;
    else this.data.entries.push(stored);
    if (reboot === 'add') this.data.reboots.push(this.opts.clock.wall());
    if (reboot === 'remove') this.data.reboots.pop();
    this.trim();
    await this.persist();
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
  async reconcile(bootId: string, ownService: string | undefined): Promise<Reconciled[]> {
    const changes: Reconciled[] = [];
    for (const entry of this.data.entries) {
      const next = settle(entry, bootId, ownService);
      if (!next) continue;
      changes.push({ command: entry.command, token: entry.token, from: entry.state, to: next.state, detail: next.detail });
      Object.assign(entry, next, { sending: false, updatedAt: this.opts.clock.wall() });
    }
    if (changes.length > 0) await this.persist();
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
      if (!command || !ack || ack.token === NO_TOKEN || this.get(command, ack.token)) continue;
      let state = ack.state;
      let detail = ack.detail;
      if (state === 'running') {
        // Outcome unknown and the intent record is gone: never send a destructive effect again.
        if (DESTRUCTIVE.has(command)) {
          state = 'failed';
          detail = 'journal lost while running; not repeated';
        } else state = 'accepted';
      }
      this.data.entries.push({
        command, token: ack.token, state, detail, bootId, attempts: 0, sending: false, force: false, services: [],
        createdAt: ack.atWall, updatedAt: ack.atWall,
      });
      added += 1;
    }
    if (added > 0) {
      this.trim();
      await this.persist();
    }
    return added;
  }

  private trim(): void {
    const keep = this.opts.keepPerCommand ?? 20;
    const byCommand = new Map<string, JournalEntry[]>();
    for (const e of this.data.entries) byCommand.set(e.command, [...(byCommand.get(e.command) ?? []), e]);
    const dropped = new Set<JournalEntry>();
    for (const list of byCommand.values()) {
      const finished = list.filter((e) => TERMINAL.has(e.state)).sort((a, b) => a.updatedAt - b.updatedAt);
      for (const e of finished.slice(0, Math.max(0, finished.length - keep))) dropped.add(e);
    }
    if (byCommand.size > 50) {
      // Tags with made-up command names are rejected and recorded; keep only the 50 busiest names.
      const names = [...byCommand.entries()].sort((a, b) => b[1].length - a[1].length).slice(50);
      for (const [, list] of names) for (const e of list) dropped.add(e);
    }
    if (dropped.size > 0) this.data.entries = this.data.entries.filter((e) => !dropped.has(e));
  }
}

function settle(entry: JournalEntry, bootId: string, ownService: string | undefined): Pick<JournalEntry, 'state' | 'detail'> | undefined {
  if (entry.state !== 'running') return undefined;
  const powers = entry.command === 'reboot' || entry.command === 'shutdown';
  // A new boot while a reboot was pending is the reboot the operator asked for, sent or not.
  if (powers && entry.bootId !== bootId) return { state: 'done', detail: `new boot seen (${entry.command})` };
  if (!entry.sending) return { state: 'accepted', detail: 'resumed after agent restart' };
  if (powers) return { state: 'failed', detail: `${entry.command} did not happen (same boot); not repeated` };
  if (killsAgent(entry.command, entry.services, ownService) || entry.bootId !== bootId) {
    return { state: 'done', detail: 'agent restarted during the call' };
  }
  if (DESTRUCTIVE.has(entry.command)) return { state: 'failed', detail: 'interrupted before the supervisor answered; not repeated' };
  return { state: 'accepted', detail: 'resumed after agent restart' };
}

function decode(text: string): JournalData | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object') return undefined;
  const data = raw as Partial<JournalData>;
  if (data.version !== 1 || !Array.isArray(data.entries) || !Array.isArray(data.reboots)) return undefined;
  if (!data.reboots.every((t) => typeof t === 'number' && Number.isFinite(t))) return undefined;
  if (!data.entries.every(isEntry)) return undefined;
  return { version: 1, entries: data.entries, reboots: data.reboots };
}

function isEntry(e: unknown): e is JournalEntry {
  if (!e || typeof e !== 'object') return false;
  const r = e as Record<string, unknown>;
  return (
    typeof r.command === 'string' && typeof r.token === 'string' && (ACK_STATES as readonly unknown[]).includes(r.state) &&
    typeof r.detail === 'string' && typeof r.bootId === 'string' && typeof r.attempts === 'number' &&
    typeof r.sending === 'boolean' && typeof r.force === 'boolean' && Array.isArray(r.services) &&
    typeof r.createdAt === 'number' && typeof r.updatedAt === 'number'
  );
}
