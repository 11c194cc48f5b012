/** Which journal lines enter the spool: `AGENT_LOGS_UNITS` and `AGENT_LOGS_MATCH`, read live for every batch. */
import { unitFilter, type LogLine } from './line.js';

/** The live settings a filter is built from. */
export interface FilterSettings {
  logsUnits: readonly string[] | null;
  logsMatch: string | null;
}

/** A line filter: its unit is one of `units` (all when null) and its message matches `match` (any when null). */
export function lineFilter(settings: FilterSettings): (line: LogLine) => boolean {
  const unitOk = unitFilter(settings.logsUnits);
  // The schema has already checked the expression compiles.
  const re = settings.logsMatch === null ? null : new RegExp(settings.logsMatch);
  if (re === null) return (line) => unitOk(line.unit);
  return (line) => unitOk(line.unit) && re.test(line.message);
}

/**
 * Keeps the filter of the settings in effect: `current()` rebuilds it only when the units or the
 * expression changed since the last call (a live tag applies from the next batch on).
 */
export class LiveFilter {
  private key = '';
  private filter: (line: LogLine) => boolean = () => true;

  constructor(private readonly settings: () => FilterSettings) {}

  /** The filter for the settings in effect now. */
  current(): (line: LogLine) => boolean {
    const s = this.settings();
    const key = JSON.stringify([s.logsUnits, s.logsMatch]);
    if (key !== this.key) {
      this.key = key;
      this.filter = lineFilter(s);
    }
    return this.filter;
  }
}
