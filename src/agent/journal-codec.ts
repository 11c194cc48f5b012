/** The journal file's format: what is written, and the checks a file must pass to be read back. */
import { ACK_STATES } from './acks.js';
import { ORIGINS } from './intent.js';
import type { JournalEntry } from './journal.js';

/** The journal file's content. */
export interface JournalData {
  version: 1;
  entries: JournalEntry[];
  /** Wall times of agent-initiated reboots and shutdowns (the 24 h budget). */
  reboots: number[];
  /** Each behaviour's own persisted state (by behaviour name). */
  state?: Record<string, unknown>;
  /** Started from no file (a first start or a wiped data volume) and the ack tags not read yet. */
  fresh?: true;
}

/** Parses and checks a journal file's text; undefined when it is not a valid journal. */
export function decode(text: string): JournalData | undefined {
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
  if (data.fresh !== undefined && data.fresh !== true) return undefined;
  if (data.state !== undefined && (data.state === null || typeof data.state !== 'object' || Array.isArray(data.state))) return undefined;
  return {
    version: 1, entries: data.entries, reboots: data.reboots,
    ...(data.state !== undefined ? { state: data.state } : {}),
    ...(data.fresh === true ? { fresh: true } : {}),
  };
}

function isEntry(e: unknown): e is JournalEntry {
  if (!e || typeof e !== 'object') return false;
  const r = e as Record<string, unknown>;
  return (
    typeof r.command === 'string' && typeof r.token === 'string' && (ACK_STATES as readonly unknown[]).includes(r.state) &&
    typeof r.detail === 'string' && typeof r.bootId === 'string' && typeof r.attempts === 'number' &&
    typeof r.sending === 'boolean' && typeof r.force === 'boolean' && Array.isArray(r.services) &&
    typeof r.createdAt === 'number' && typeof r.updatedAt === 'number' &&
    (r.origin === undefined || (ORIGINS as readonly unknown[]).includes(r.origin)) &&
    (r.sentAt === undefined || typeof r.sentAt === 'number') &&
    (r.now === undefined || r.now === true) && (r.t0 === undefined || typeof r.t0 === 'number') &&
    (r.startAt === undefined || typeof r.startAt === 'number') && (r.reason === undefined || r.reason === 'wave' || r.reason === 'window') &&
    (r.before === undefined || r.before === null || (typeof r.before === 'object' && !Array.isArray(r.before) &&
      Object.values(r.before).every((id) => typeof id === 'string')))
  );
}
