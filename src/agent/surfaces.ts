/**
 * What the agent runs for the people who look at it: the `/logs` follow and the kernel's
 * under-voltage follow (long-lived services), metrics samples at the live interval, and the
 * providers `/metrics` reads.
 */
import type { LogHub } from '../http/log-hub.js';
import type { UnderVoltageCounter } from '../metrics/kernel-events.js';
import type { RegistrySources } from '../metrics/registry.js';
import type { ActionTally } from './action-tally.js';
import { DECIDE_IDLE_MS } from './decider.js';
import type { JournalEntry } from './journal.js';
import type { MetricsReport } from './metrics-report.js';
import type { CloudPort } from './ports.js';
import type { Scheduler } from './scheduler.js';
import type { LiveSettings } from './settings.js';

/** The parts the surfaces run on. */
export interface SurfaceParts {
  scheduler: Scheduler;
  settings: LiveSettings;
  random: () => number;
  metrics: MetricsReport | undefined;
  kernelPower: UnderVoltageCounter | undefined;
  logHub: LogHub | undefined;
}

/** Schedules the follows and the samples (after each sample the report loop looks at the tags). */
export function scheduleSurfaces(p: SurfaceParts): void {
  const { scheduler, settings, metrics, kernelPower, logHub, random } = p;
  if (logHub) scheduler.service('live-logs', (s) => logHub.run(s), { baseMs: 1_000, maxMs: 30_000, random });
  if (kernelPower) scheduler.service('kernel-power', (s) => kernelPower.run(s), { baseMs: 5_000, maxMs: 300_000, random });
  if (!metrics) return;
  // Off, the loop only looks whether a live tag turned sampling on (a poll with a new interval also wakes it).
  scheduler.every('metrics', { initialDelayMs: 0, intervalMs: () => settings.current.metricsIntervalMs ?? DECIDE_IDLE_MS }, async () => {
    if (settings.current.metricsIntervalMs === null) return metrics.clear();
    await metrics.sample();
    if (settings.current.report) scheduler.runNow('report');
  });
}

/** What /metrics reads, from the agent's parts. */
export function registrySources(p: {
  version: string;
  health: () => 'ok' | 'degraded' | 'failing';
  entries: () => readonly JournalEntry[];
  tally: ActionTally;
  cloud: CloudPort;
  lastContactWall: () => number | undefined;
  metrics: MetricsReport | undefined;
  logStats: RegistrySources['logStats'];
}): RegistrySources {
  return {
    version: p.version, logStats: p.logStats, health: p.health, lastContactWall: p.lastContactWall,
    actions: () => {
      p.tally.observe(p.entries());
      return p.tally.list();
    },
    scheduled: () => {
      const counts = new Map<string, { command: string; reason: string; count: number }>();
      for (const e of p.entries()) {
        if (e.state !== 'scheduled' || e.reason === undefined) continue;
        const key = `${e.command} ${e.reason}`;
        const c = counts.get(key) ?? { command: e.command, reason: e.reason, count: 0 };
        c.count += 1;
        counts.set(key, c);
      }
      return [...counts.values()];
    },
    cloudRequests: () => p.cloud.requestOutcomes?.() ?? { ok: 0, error: 0, rate_limited: 0 },
    sample: () => p.metrics?.last,
  };
}
