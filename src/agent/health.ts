/** The agent's own health: pure rules over what it has observed. */

import { clip } from '../lib/text.js';

/** ok | degraded | failing. */
export type HealthState = 'ok' | 'degraded' | 'failing';

/** What the rules look at. */
export interface HealthInputs {
  /** Monotonic now. */
  now: number;
  /** When the agent started (monotonic), so a fresh agent is not blamed for its start spread. */
  startedAt: number;
  /** Monotonic time of the last good cloud poll, if any. */
  lastGoodPollAt: number | undefined;
  pollIntervalMs: number;
  /** Grace before the first poll counts as late (the start spread). */
  startSpreadMs: number;
  /** False after a supervisor call could not connect; undefined before the first call. */
  supervisorReachable: boolean | undefined;
  /** Why the reachable supervisor's last answer was unusable (key rejected, 5xx), if it was. */
  supervisorProblem?: string | undefined;
  journalWritable: boolean;
  /** Problems from live settings (bad or unknown `config.` tags). */
  configProblems: readonly string[];
  /** Problems of the process around the agent, e.g. the local HTTP server could not start. */
  localProblems?: readonly string[];
  deviceKeyRejected: boolean;
  /** How much longer the cloud asked the agent to send nothing (Retry-After, 429); 0 or absent when not. */
  cloudHoldMs?: number;
}

/** The verdict and short reasons, worst first. */
export interface Health {
  state: HealthState;
  reasons: string[];
}

/** A cloud hold (Retry-After) longer than this shows in health: beyond it, calls are refused unsent. */
export const CLOUD_HOLD_SHOWN_MS = 2 * 60_000;

/** Applies the health rules. */
export function assessHealth(i: HealthInputs): Health {
  const failing: string[] = [];
  const degraded: string[] = [];
  if (i.deviceKeyRejected) failing.push('device key rejected');
  if (!i.journalWritable) failing.push('journal not writable');
  const since = i.lastGoodPollAt ?? i.startedAt;
  const allowed = 2 * i.pollIntervalMs + (i.lastGoodPollAt === undefined ? i.startSpreadMs : 0);
  if (i.now - since > allowed) {
    // Stable wording (no running age): the detail tag is only written when it changes.
    degraded.push(i.lastGoodPollAt === undefined ? 'no cloud contact since start' : 'cloud unreachable (no good poll for 2 intervals)');
  }
  // A short hold is the ordinary pace of retries; a long one means the cloud hears nothing for a while.
  if ((i.cloudHoldMs ?? 0) > CLOUD_HOLD_SHOWN_MS) degraded.push('cloud asked the agent to hold its requests (rate limited)');
  if (i.supervisorReachable === false) degraded.push('supervisor unreachable');
  else if (i.supervisorProblem) degraded.push(i.supervisorProblem);
  for (const p of i.configProblems) degraded.push(`bad setting: ${p}`);
  degraded.push(...(i.localProblems ?? []));
  const state: HealthState = failing.length > 0 ? 'failing' : degraded.length > 0 ? 'degraded' : 'ok';
  return { state, reasons: [...failing, ...degraded] };
}

/** The reasons as one short tag value. */
export function healthDetail(reasons: readonly string[], max = 250): string {
  return clip(reasons.join('; '), max);
}

/** What /healthz answers (the image's HEALTHCHECK). */
export interface Healthz {
  ok: boolean;
  state: string;
  reasons: string[];
}

/** Least time a poll may be overdue (slow replies, retries, Retry-After) before the agent counts as stuck. */
export const POLL_STUCK_GRACE_MS = 10 * 60_000;

/**
 * The /healthz verdict. balenaEngine restarts a container whose health check fails, so it fails
 * only when a restart can help: the poll loop is stuck (`overdueMs` past the grace). A failing
 * health with a cause a restart cannot cure (a revoked key, a full disk) stays ok here, with its
 * state and reasons, instead of becoming a restart loop.
 */
export function healthzVerdict(health: Health, overdueMs: number, pollIntervalMs: number): Healthz {
  const grace = Math.max(2 * pollIntervalMs, POLL_STUCK_GRACE_MS);
  if (overdueMs > grace) {
    return { ok: false, state: 'failing', reasons: [`agent stuck: the poll is ${Math.round(overdueMs / 1000)} s overdue`, ...health.reasons] };
  }
  return { ok: true, state: health.state, reasons: health.reasons };
}
