/**
 * Counts the actions that reached a final state, for `fleet_agent_actions_total`: each journal
 * entry counts once per final state it is seen in, so the counter only grows, even when the
 * journal later drops old entries.
 */
import { TERMINAL } from './acks.js';
import { originOf } from './intent.js';
import type { JournalEntry } from './journal.js';
import type { ActionCount } from '../metrics/registry.js';

/** The tally of final states by command, origin and state. */
export class ActionTally {
  private readonly seen = new Map<string, string>();
  private readonly counts = new Map<string, ActionCount>();

  /** Looks at the journal's entries; counts those newly in a final state. */
  observe(entries: readonly JournalEntry[]): void {
    const present = new Set<string>();
    for (const e of entries) {
      const origin = originOf(e);
      const id = `${origin}\u0000${e.command}\u0000${e.token}`;
      present.add(id);
      if (!TERMINAL.has(e.state) || this.seen.get(id) === e.state) continue;
      this.seen.set(id, e.state);
      const key = `${e.command}\u0000${origin}\u0000${e.state}`;
      const count = this.counts.get(key) ?? { command: e.command, origin, state: e.state, count: 0 };
      count.count += 1;
      this.counts.set(key, count);
    }
    for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id);
  }

  /** The counts so far. */
  list(): ActionCount[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }
}
