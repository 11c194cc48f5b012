/**
 * Benchmark: operator tag set → action started, over 200 commands, on the simulated clock with the
 * real supervisor and cloud simulators on loopback. Prints p50/p99 against the poll interval and
 * how long after the state change the ack is visible in the cloud. Not a test: it prints figures.
 *
 *   node dist/bench/commands.js [count] [poll interval seconds]
 */
import { parseAck } from '../src/agent/acks.js';
import { startWorld, W } from '../test/helpers/agent-harness.js';

const STEP_MS = 250;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** A positive whole number from the command line, or a clear refusal. */
function positiveInt(raw: string | undefined, fallback: number, what: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${what} must be a positive whole number, got ${JSON.stringify(raw)}`);
  return n;
}

async function main(): Promise<void> {
  const count = positiveInt(process.argv[2], 200, 'count');
  const intervalMs = positiveInt(process.argv[3], 300, 'poll interval (seconds)') * 1000;
  const world = await startWorld({ config: { pollIntervalMs: intervalMs } });
  // A deterministic pseudo-random phase for each tag relative to the poll cycle.
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const started: number[] = [];
  const acked: number[] = [];
  const wallStart = performance.now();
  try {
    await world.step(1_000);
    for (let i = 0; i < count; i++) {
      await world.step(Math.floor(random() * intervalMs));
      const blinks = world.calls('/v1/blink');
      const token = `b${i}`;
      const setAt = world.clock.now();
      world.cloudSim.setDeviceTag(W.uuid, 'agent.identify', token);
      while (world.calls('/v1/blink') === blinks) {
        await world.step(STEP_MS);
        if (world.clock.now() - setAt > 3 * intervalMs) throw new Error(`command ${token} never started`);
      }
      started.push(world.clock.now() - setAt);
      for (;;) {
        const state = world.agent.status().recentActions.find((a) => a.token === token)?.state;
        if (state === 'done') break;
        if (world.clock.now() - setAt > 3 * intervalMs + 120_000) throw new Error(`command ${token} did not end done (last state: ${state ?? 'none'})`);
        await world.step(STEP_MS);
      }
      const doneAt = world.clock.now();
      for (;;) {
        const value = world.tags()['agent.identify.ack'];
        const ack = value === undefined ? undefined : parseAck(value);
        if (ack?.token === token && ack.state === 'done') break;
        await world.step(STEP_MS);
        if (world.clock.now() - doneAt > 120_000) throw new Error(`ack for ${token} never appeared`);
      }
      acked.push(world.clock.now() - doneAt);
    }
  } finally {
    await world.close();
  }
  const s = [...started].sort((a, b) => a - b);
  const a = [...acked].sort((x, y) => x - y);
  const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const rows: [string, string, string, string, string][] = [
    ['measure', 'p50', 'p99', 'max', 'goal'],
    ['tag set → action started', sec(percentile(s, 50)), sec(percentile(s, 99)), sec(s[s.length - 1] ?? 0), `p99 ≤ ${sec(intervalMs + 5_000)}`],
    ['state change → ack visible', sec(percentile(a, 50)), sec(percentile(a, 99)), sec(a[a.length - 1] ?? 0), 'p99 ≤ 15.0 s'],
  ];
  const widths = ['', '', '', '', ''].map((_, c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
  console.log(`${count} identify commands, poll interval ${sec(intervalMs)}, simulated clock, step ${STEP_MS} ms (real time ${sec(performance.now() - wallStart)})`);
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
  const ok = percentile(s, 99) <= intervalMs + 5_000 && percentile(a, 99) <= 15_000;
  console.log(ok ? 'goals met' : 'GOALS MISSED');
}

try {
  await main();
} catch (err) {
  console.error(`benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
