/**
 * The agent's metrics: samples on the scheduler, the power episode, and the `agent.metrics` /
 * `agent.power` tag values the reporter writes when their bucketed text changes.
 */
import type { Clock } from '../lib/clock.js';
import { metricsTag, nextPowerEdge, powerTag, type PowerEdge } from '../metrics/buckets.js';
import { powerCondition, powerKnown, type PowerState } from '../metrics/power.js';
import type { MetricsSample } from '../metrics/sample.js';
import type { Sampler } from '../metrics/sampler.js';

/** Samples and what they report. */
export class MetricsReport {
  private edge: PowerEdge | undefined;

  constructor(private readonly opts: { sampler: Sampler; clock: Clock }) {}

  /** The latest sample, if any. */
  get last(): MetricsSample | undefined {
    return this.opts.sampler.last;
  }

  /** Takes a sample and moves the power episode on. */
  async sample(): Promise<void> {
    const s = await this.opts.sampler.sample();
    this.edge = nextPowerEdge(this.edge, powerCondition(powerStateOf(s)), this.opts.clock.wall());
  }

  /** Forgets the last sample (sampling turned off: nothing stale is shown or reported). */
  clear(): void {
    this.opts.sampler.last = undefined;
  }

  /** The tags to report: `<prefix>metrics`, and `<prefix>power` only on a board that says something about its power. */
  tags(prefix: string): Record<string, string> {
    const s = this.last;
    if (!s) return {};
    const out: Record<string, string> = {};
    const summary = metricsTag(s, s.filesystems[0]?.mountpoint);
    if (summary) out[`${prefix}metrics`] = summary;
    if (this.edge && powerKnown(powerStateOf(s))) out[`${prefix}power`] = powerTag(this.edge, s.power.undervoltageEvents);
    return out;
  }
}

/** The power state a sample holds (firmware bits as the sample keeps them). */
function powerStateOf(s: MetricsSample): PowerState {
  const p = s.power;
  const state: PowerState = {};
  if (p.undervoltage !== undefined) {
    state.firmware = {
      underVoltageNow: p.undervoltage, throttledNow: p.throttled ?? false, frequencyCappedNow: false, softTempLimitNow: false,
      underVoltageSinceBoot: p.undervoltageSinceBoot ?? false, throttledSinceBoot: p.throttledSinceBoot ?? false,
      frequencyCappedSinceBoot: false, softTempLimitSinceBoot: false,
    };
  }
  if (p.undervoltageEvents !== undefined) state.underVoltageEvents = p.undervoltageEvents;
  return state;
}
