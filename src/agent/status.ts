import type { Config } from '../config/schema.js';
import { redactUserinfo } from '../config/parsers.js';
import type { AckState } from './acks.js';
import type { RebootBudget } from './budget.js';
import type { Health, HealthState } from './health.js';
import { originOf, type Origin } from './intent.js';
import type { JournalEntry, WaitReason } from './journal.js';
import type { Opening } from './window.js';
import type { MetricsSample } from '../metrics/sample.js';
import type { LogsStatus } from '../logs/forwarder.js';

/** The agent's status document (GET /status): never holds a secret. */
export interface AgentStatus {
  health: HealthState;
  reasons: string[];
  version: string;
  /** The configuration in effect; the HTTP token is shown only as set or not. */
  config: Partial<Omit<Config, 'httpToken'>> & { httpToken: 'set' | null };
  lastPoll: { at: string | null; ok: boolean; error: string | null; failures: number };
  supervisor: { reachable: boolean | null };
  /** The most recently changed intents (operators' commands and behaviours'), most recent first. */
  recentActions: { origin: Origin; command: string; services: string[]; token: string; state: AckState; detail: string; at: string }[];
  /** What waits for its rollout wave or maintenance window, soonest first. */
  scheduled: { origin: Origin; command: string; services: string[]; token: string; startsAt: string; reason: WaitReason; detail: string }[];
  /** The maintenance window in effect: whether the device is inside it now and when it next opens (null without a window). */
  window: { open: boolean; opensAt: string | null; closesAt: string | null } | null;
  /** The agent's own behaviours: whether each is on, when it next looks, and its latest intent. */
  behaviours: { name: string; active: boolean; next: string | null; last: { command: string; services: string[]; state: AckState; detail: string; at: string } | null }[];
  journal: { path: string; writable: boolean; entries: number; rebootsLast24h: number; maxRebootsPerDay: number; rebootsAllowedAgainAt: string | null };
  /** The latest metrics sample (what `fleet-agent metrics --json` prints); null before the first or without sampling. */
  metrics: MetricsSample | null;
  /** Log forwarding: per sink, the spool, the journal position (absent when the agent forwards no logs). */
  logs?: LogsStatus;
}

/** What buildStatus needs. */
export interface StatusInputs {
  health: Health;
  version: string;
  config: Config;
  lastGoodPollWall: number | undefined;
  lastPollError: string | undefined;
  failures: number;
  supervisorReachable: boolean | undefined;
  entries: readonly JournalEntry[];
  journalPath: string;
  journalWritable: boolean;
  budget: RebootBudget;
  behaviours: readonly { name: string; active: boolean; nextWall: number | null }[];
  metrics: MetricsSample | null;
  logs?: LogsStatus;
  /** The maintenance window's opening at or after now (window.ts); null without a window. */
  window: Opening | null;
  /** The wall time the document describes. */
  wall: number;
}

const iso = (t: number | null | undefined): string | null => (t === null || t === undefined ? null : new Date(t).toISOString());

function activeConfig(config: Config): AgentStatus['config'] {
  const shown: Partial<Config> = { ...config };
  // Sink URLs may carry credentials (user:pass@): shown hidden.
  if (shown.logsForward) shown.logsForward = shown.logsForward.map(redactUserinfo);
  return { ...shown, httpToken: config.httpToken ? 'set' : null };
}

/** Assembles the status document. */
export function buildStatus(i: StatusInputs): AgentStatus {
  // Entries come in change order; wall times may have been stepped by NTP, so they do not sort.
  const recent = [...i.entries].reverse().slice(0, 20);
  return {
    health: i.health.state,
    reasons: i.health.reasons,
    version: i.version,
    config: activeConfig(i.config),
    lastPoll: { at: iso(i.lastGoodPollWall), ok: i.failures === 0 && i.lastGoodPollWall !== undefined, error: i.lastPollError ?? null, failures: i.failures },
    supervisor: { reachable: i.supervisorReachable ?? null },
    recentActions: recent.map((e) => ({
      origin: originOf(e), command: e.command, services: [...e.services], token: e.token.startsWith('#') ? '-' : e.token, state: e.state, detail: e.detail, at: iso(e.updatedAt) ?? '',
    })),
    scheduled: i.entries
      .filter((e) => e.state === 'scheduled' && e.startAt !== undefined)
      .sort((a, b) => (a.startAt ?? 0) - (b.startAt ?? 0))
      .map((e) => ({
        origin: originOf(e), command: e.command, services: [...e.services], token: e.token, startsAt: iso(e.startAt) ?? '', reason: e.reason ?? 'window', detail: e.detail,
      })),
    window: i.config.maintenanceWindow === null ? null : {
      open: i.window !== null && i.window.start <= i.wall,
      opensAt: i.window === null || i.window.start <= i.wall ? null : iso(i.window.start),
      closesAt: iso(i.window?.end ?? null),
    },
    behaviours: i.behaviours.map((b) => {
      const last = i.entries.findLast((e) => originOf(e) === b.name);
      return {
        name: b.name, active: b.active, next: iso(b.nextWall),
        last: last ? { command: last.command, services: [...last.services], state: last.state, detail: last.detail, at: iso(last.updatedAt) ?? '' } : null,
      };
    }),
    journal: {
      path: i.journalPath, writable: i.journalWritable, entries: i.entries.length, rebootsLast24h: i.budget.used,
      maxRebootsPerDay: i.budget.max, rebootsAllowedAgainAt: iso(i.budget.releaseAtWall),
    },
    metrics: i.metrics,
    ...(i.logs ? { logs: i.logs } : {}),
  };
}
