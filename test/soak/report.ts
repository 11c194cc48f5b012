/** The soak run's summary: one row per command, totals, and what the world did. */
import type { SoakStats } from './device.js';
import { EXACTLY_ONCE } from './plan.js';
import type { RoundResult } from './round.js';

const COLUMNS = ['command', 'rounds', 'acted 1', 'acted 0', 'repeats', 'dup', 'false done', 'stuck', 'lost', 'done', 'failed-acted', 'failed-not', 'other'] as const;

function row(command: string, rs: readonly RoundResult[]): string[] {
  const has = (r: RoundResult, prefix: string) => r.violations.some((v) => v.startsWith(prefix));
  const state = (r: RoundResult) => (r.final?.token === r.plan.token ? r.final.state : 'none');
  const once = EXACTLY_ONCE.has(command) || command === 'total';
  return [
    command,
    rs.length,
    rs.filter((r) => r.acted === 1).length,
    rs.filter((r) => r.acted === 0).length,
    // More than one act of an at-least-once command: by design, counted, never flagged.
    once && command !== 'total' ? '–' : rs.filter((r) => r.acted > 1 && !EXACTLY_ONCE.has(r.plan.command)).length,
    rs.filter((r) => has(r, 'duplicate')).length,
    rs.filter((r) => has(r, 'false done')).length,
    rs.filter((r) => has(r, 'stuck')).length,
    rs.filter((r) => has(r, 'lost')).length,
    rs.filter((r) => state(r) === 'done').length,
    rs.filter((r) => state(r) === 'failed' && r.acted > 0).length,
    rs.filter((r) => state(r) === 'failed' && r.acted === 0).length,
    rs.filter((r) => !['done', 'failed'].includes(state(r))).length,
  ].map(String);
}

/** The table, and the lines under it. */
export function summary(results: readonly RoundResult[], stats: SoakStats, wallMs: number, commands: readonly string[]): string {
  const rows = [[...COLUMNS] as string[]];
  for (const c of commands) {
    const rs = results.filter((r) => r.plan.command === c);
    if (rs.length > 0) rows.push(row(c, rs));
  }
  rows.push(row('total', results));
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const lines = rows.map(fmt);
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  lines.splice(lines.length - 1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const others = new Map<string, number>();
  for (const r of results) {
    const s = r.final?.token === r.plan.token ? r.final.state : 'none';
    if (s !== 'done' && s !== 'failed') others.set(s, (others.get(s) ?? 0) + 1);
  }
  const grace = results.filter((r) => r.bootGrace).length;
  const violations = results.filter((r) => r.violations.length > 0).length;
  const secs = Math.round(wallMs / 1000);
  lines.push(
    '',
    `other final states: ${[...others].map(([s, n]) => `${s} ${n}`).join(', ') || 'none'}`,
    `kills injected: ${stats.sigkills} SIGKILL, ${stats.sigterms} SIGTERM; agent killed by emulated effects: ${stats.effectKills}; agent starts: ${stats.agentStarts}`,
    `wall-clock steps: ${stats.clockSteps}; watches for evidence ended by a clock jump past their grace period: ${grace}`,
    `rounds with a violation: ${violations} of ${results.length}; wall time ${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, '0')}s`,
  );
  return lines.join('\n');
}
