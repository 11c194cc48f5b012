/**
 * offline-reboot (PRODUCT §3): a device that has not reached the cloud for AGENT_OFFLINE_REBOOT
 * (counted from the later of its last contact and the agent's start) reboots — a modem or a
 * network stack stuck in a bad state is the usual cause, and a reboot the usual cure.
 *
 * At most once per offline period: the period is named by its last contact (its wall time, or
 * none), persisted with the intent's key before the reboot runs. After the reboot the agent finds
 * the same period (no contact since) and does nothing more, however long the device stays offline;
 * a contact starts a new period (and the remembered one is forgotten then). It counts in the shared reboot budget like every reboot (a spent
 * budget defers it). Pure: everything comes from the snapshot.
 */
import { behaviourKey, type Intent } from '../intent.js';
import type { Snapshot } from '../snapshot.js';
import type { Behaviour, Decision } from './behaviour.js';

/** What the behaviour persists: the offline period it rebooted for. */
export interface OfflineState {
  /** The reboot's intent key. */
  key: string;
  /** Wall time of the last contact before that period; null when the agent had none. */
  contactWall: number | null;
}

function read(raw: unknown): OfflineState | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.key !== 'string' || !(r.contactWall === null || typeof r.contactWall === 'number')) return null;
  return { key: r.key, contactWall: r.contactWall };
}

function reboot(key: string): Intent {
  return { key, origin: 'offline-reboot', command: 'reboot', args: { services: [] }, force: false };
}

/** How long the device has been without contact, as the rule counts it (monotonic). */
export function offlineFor(s: Snapshot): number {
  return s.now - Math.max(s.lastContactAt ?? s.startedAt, s.startedAt);
}

/** The decision. */
export function decideOffline(s: Snapshot): Decision {
  const limit = s.config.offlineRebootMs;
  if (limit === null) return { proposals: [] };
  const done = read(s.state['offline-reboot']);
  const samePeriod = done !== null && (s.lastContactWall === null || s.lastContactWall === done.contactWall);
  if (samePeriod) {
    // Rebooted for this period already; its intent is proposed again only if the journal lost it
    // (the state was written, the entry not: a failed write), so the key stays the same.
    const known = s.journal.some((e) => e.command === 'reboot' && e.token === done.key);
    return { proposals: known ? [] : [{ intent: reboot(done.key) }] };
  }
  // A contact after the period it rebooted for ends that period: forgotten at once (one write), so
  // a later process that starts offline counts a new period.
  const ended = done !== null ? { state: null } : {};
  if (offlineFor(s) < limit) return { proposals: [], ...ended };
  const key = behaviourKey('offline-reboot', new Date(s.wall).toISOString());
  return { proposals: [{ intent: reboot(key) }], state: { key, contactWall: s.lastContactWall } satisfies OfflineState };
}

/** The behaviour. */
export const offlineReboot: Behaviour = {
  name: 'offline-reboot',
  level: false,
  enabled: (s) => s.config.offlineRebootMs !== null,
  decide: decideOffline,
  // Never held by a maintenance window: waiting cannot help a device that cannot reach the cloud.
  holds: () => false,
};
