/**
 * A staged rollout of a fleet command across 200 real agents (40 under the arm64 emulator) in one
 * process (PRODUCT §3 "Fleet commands and staged rollouts"), against the cloud simulator over
 * loopback HTTP on one ManualClock; each device's supervisor is an in-process fake that records
 * its reboot calls.
 * One fleet tag `agent.reboot` = `R1 rollout=10%/10m` (AGENT_ACTIONS allows reboot; the budget
 * allows one). It proves, from what the fake supervisors and the simulator recorded:
 * 1. Each device's reboot reaches its supervisor in its own wave's window and never before,
 *    the wave computed here independently (sha256 of `<uuid>:<token>`); until then its own
 *    `agent.reboot.ack` reads `R1 scheduled <start> wave <k+1>/10`. With t0 = the poll that first
 *    saw the tag, and with `from=` (exact start times).
 * 2. `R1 abort` set after waves 1–2 started cancels every device of waves 3–10 at its next poll,
 *    and no reboot reaches a supervisor after it, even past wave 10's start.
 * 3. Cloud requests per device-hour over the same simulated span, with and without the rollout
 *    (printed): the rollout adds no read (fleet tags come with the poll) and no request beyond
 *    the tag writes that carry its acks (within 2 %: the poll rhythm is random), at most four per
 *    device: scheduled, running twice, the outcome (the fake supervisor never reboots, so each
 *    started reboot ends `failed` 15 min on).
 *
 * Each run of the fleet (the rollout with t0 = first seen, the rollout with `from=` and an abort,
 * and a run without the tag) is a worker thread running this file, the three at once: node:test's
 * async hooks track every promise of the test's own thread and would slow the fleet several
 * times. A worker records what the simulator and the fake supervisors saw (acks at checkpoints,
 * reboot call times, requests); the tests assert on that.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadConfig } from '../../src/config/load.js';
import type { CloudRequest } from '../../src/sim/cloud/simulator.js';
import { FLEET_ID, startFleet, uuidOf, type Fleet } from '../helpers/fleet-world.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Under the arm64 emulator every step is many times slower: a fifth of the fleet, the same checks. */
const EMULATED = (process.env.FLEET_AGENT_TEST_LAUNCHER ?? '') !== '';
const DEVICES = EMULATED ? 40 : 200;
const TOKEN = 'R1';
const PERCENT = 10;
const WAVES = 10;
const PERIOD = 10 * MINUTE;
const TAG = 'agent.reboot';
const ACK = 'agent.reboot.ack';
/** The fleet's clock starts here (ManualClock's default): 2026-01-01T00:00Z. */
const T0 = Date.UTC(2026, 0, 1);
/** Every agent has polled at least once by then (start spread 2 min, poll 5 min ± 20 %); the tag is set then. */
const BOOTED = 10 * MINUTE;
/** The longest gap between two polls: the poll interval + 20 %. */
const POLL_MAX = 6 * MINUTE;
/** Room for the work a poll or a start wakes (steps of 100 ms, the reporter's throttle). */
const SLACK = 30 * SECOND;
/** Every device has seen the tag by then: checkpoints start here. */
const ALL_SEEN = BOOTED + POLL_MAX + SLACK;
/** Checkpoints (the acks in the simulator) this far apart. */
const EVERY = 2 * MINUTE;
/** The span whose cloud requests are counted, with and without the rollout. */
const SPAN = BOOTED + WAVES * PERIOD + POLL_MAX + SLACK;
/** The `from=` of the second run, and when it aborts (waves 1–2 have started, wave 3 starts at FROM + 2 periods). */
const FROM = T0 + BOOTED + 10 * MINUTE;
const ABORT = FROM - T0 + PERIOD + SLACK;

const uuids = Array.from({ length: DEVICES }, (_, i) => uuidOf(i + 1));

type Run = 'first-seen' | 'from-abort' | 'without';

/** What a run recorded: the simulator's requests and device tags, the fake supervisors' reboot calls. */
interface Observed {
  /** Per device: the wall time of its first poll after the tag was set (null: none). */
  firstSeen: (number | null)[];
  /** Per device: the wall times of its supervisor's reboot calls. */
  reboots: number[][];
  /** The `agent.reboot.ack` of each device in the simulator at wall times. */
  checkpoints: { label: string; wall: number; acks: (string | null)[] }[];
  /** Requests answered within SPAN: all, GETs, and per device the tag writes carrying its ack. */
  requests: number;
  reads: number;
  ackWrites: number[];
  wallMs: number;
}

const isPoll = (r: CloudRequest): boolean => r.method === 'GET' && r.path.startsWith('/v7/device(') && r.query.includes('application_tag');
const carriesAck = (r: CloudRequest): boolean => r.method === 'PATCH' && r.path === '/device/v3/tags' && JSON.stringify(r.body ?? null).includes(ACK);

/** Runs one fleet of DEVICES agents (tags written to the cloud directly, so acks land in the simulator) and records what it saw. */
async function observe(run: Run): Promise<Observed> {
  const began = performance.now();
  const config = loadConfig({ AGENT_ACTIONS: 'reboot', AGENT_MAX_REBOOTS_PER_DAY: '1' });
  const fleet: Fleet = await startFleet({ devices: DEVICES, config, tagsToCloud: true });
  const index = new Map(uuids.map((u, i) => [u, i]));
  const seen: Observed = {
    firstSeen: uuids.map(() => null), reboots: [], checkpoints: [], requests: 0, reads: 0, ackWrites: uuids.map(() => 0), wallMs: 0,
  };
  let setAt: number | undefined;
  fleet.sim.onRequest((r) => {
    const i = r.actor === undefined ? undefined : index.get(r.actor);
    if (setAt !== undefined && i !== undefined && isPoll(r) && seen.firstSeen[i] === null) seen.firstSeen[i] = r.at;
    if (r.at >= T0 + SPAN) return;
    seen.requests += 1;
    if (r.method === 'GET') seen.reads += 1;
    if (i !== undefined && carriesAck(r)) seen.ackWrites[i]! += 1;
  });
  const checkpoint = (label: string): void => {
    seen.checkpoints.push({ label, wall: fleet.clock.wall(), acks: uuids.map((u) => fleet.sim.deviceTags(u)[ACK] ?? null) });
  };
  const checkpointsUntil = async (mono: number): Promise<void> => {
    while (fleet.clock.now() < mono) {
      await fleet.runUntil(Math.min(mono, fleet.clock.now() + EVERY));
      checkpoint('waiting');
    }
  };
  try {
    await fleet.start();
    await fleet.runUntil(BOOTED);
    if (run === 'first-seen') {
      setAt = fleet.clock.wall();
      fleet.sim.setFleetTag(FLEET_ID, TAG, `${TOKEN} rollout=${PERCENT}%/10m`);
      await fleet.runUntil(ALL_SEEN);
      checkpoint('waiting');
      await checkpointsUntil(SPAN);
    } else if (run === 'from-abort') {
      setAt = fleet.clock.wall();
      fleet.sim.setFleetTag(FLEET_ID, TAG, `${TOKEN} rollout=${PERCENT}%/10m from=${new Date(FROM).toISOString()}`);
      await fleet.runUntil(ALL_SEEN);
      checkpoint('waiting');
      await checkpointsUntil(ABORT);
      fleet.sim.setFleetTag(FLEET_ID, TAG, `${TOKEN} abort`);
      await fleet.runUntil(ABORT + POLL_MAX + SLACK);
      checkpoint('aborted');
      await fleet.runUntil(FROM - T0 + WAVES * PERIOD + POLL_MAX);
      checkpoint('past wave 10');
    } else {
      await fleet.runUntil(SPAN);
    }
    seen.reboots = fleet.supervisors.map((s) => [...s.reboots]);
  } finally {
    await fleet.close();
  }
  seen.wallMs = performance.now() - began;
  return seen;
}

/** Runs `run` in a worker thread running this very file. */
function inWorker(run: Run): Promise<Observed> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { fleetRollout: run } });
    worker.once('message', (o: Observed) => resolve(o));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the ${run} run exited with ${code} before answering`)));
  });
}

/** The device's wave (0 first), computed here from the rule, not with the agent's code. */
function waveOf(uuid: string): number {
  const b = createHash('sha256').update(`${uuid}:${TOKEN}`).digest().readBigUInt64BE(0);
  return Math.min(WAVES - 1, Number((b * 100n) / (BigInt(PERCENT) << 64n)));
}

const iso = (wall: number): string => new Date(wall).toISOString();
const short = (i: number): string => `${uuids[i]!.slice(0, 8)} (wave ${waveOf(uuids[i]!) + 1})`;
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const perDeviceHour = (requests: number): number => requests / DEVICES / (SPAN / HOUR);

/** At every checkpoint before a device's start, its ack shows its schedule (`starts[i]` = its start). */
function assertScheduledAcks(o: Observed, starts: readonly number[]): void {
  for (const c of o.checkpoints.filter((x) => x.label === 'waiting')) {
    for (const [i, start] of starts.entries()) {
      if (start <= c.wall) continue;
      assert.equal(c.acks[i], `${TOKEN} scheduled ${iso(start)} wave ${waves[i]! + 1}/${WAVES}`, `${short(i)} at ${iso(c.wall)}`);
    }
  }
}

/** Each selected device's one reboot call is in [start, start + within): never before. Returns the latest lag. */
function assertStarts(o: Observed, starts: readonly number[], within: number, only: (k: number) => boolean = () => true): number {
  let latest = 0;
  for (const [i, start] of starts.entries()) {
    if (!only(waves[i]!)) continue;
    const calls = o.reboots[i]!;
    assert.equal(calls.length, 1, `${short(i)}: ${calls.length} reboot calls, expected 1`);
    const at = calls[0]!;
    assert.ok(at >= start && at < start + within, `${short(i)} rebooted at ${iso(at)}; its window is [${iso(start)}, ${iso(start + within)})`);
    latest = Math.max(latest, at - start);
  }
  return latest;
}

const waves = uuids.map(waveOf);
const job = (workerData as { fleetRollout?: Run } | null)?.fleetRollout;
if (!isMainThread && job !== undefined) {
  parentPort?.postMessage(await observe(job));
} else {
  describe(`a fleet rollout across ${DEVICES} agents (reboot R1 rollout=10%/10m)`, () => {
    // The three runs at once, each in its own thread; every test awaits the one it reads.
    const runs = new Map<Run, Promise<Observed>>();
    const ran = (run: Run): Promise<Observed> => {
      if (!runs.has(run)) runs.set(run, inWorker(run));
      return runs.get(run)!;
    };

    it(`the rule spreads the ${DEVICES} devices over the 10 waves`, () => {
      for (const run of ['first-seen', 'from-abort', 'without'] as const) void ran(run).catch(() => undefined);
      const sizes = Array.from({ length: WAVES }, (_, k) => waves.filter((w) => w === k).length);
      // 200 devices fill every wave (the uuids are fixed); 40 under the emulator may leave one empty.
      if (!EMULATED) assert.ok(sizes.every((s) => s > 0), `wave sizes ${sizes.join(', ')}`);
    });

    it('t0 = the poll that first saw the tag: each device acks its schedule, then starts in its wave, never before', async () => {
      const o = await ran('first-seen');
      const setAt = T0 + BOOTED;
      const starts = o.firstSeen.map((t0, i) => {
        assert.ok(t0 !== null && t0 >= setAt && t0 < setAt + POLL_MAX + SLACK, `${short(i)} first saw the tag at ${t0 === null ? 'no time' : iso(t0)}`);
        return t0 + waves[i]! * PERIOD;
      });
      assertScheduledAcks(o, starts);
      const late = assertStarts(o, starts, POLL_MAX + SLACK);
      console.log(`fleet rollout (t0 = first seen): ${DEVICES} reboot calls, each in its wave's window, at most ${late / SECOND} s after its start; run took ${(o.wallMs / SECOND).toFixed(1)} s`);
    });

    it('from=: exact start times; abort after wave 2 cancels waves 3–10, and no reboot follows past wave 10', async () => {
      const o = await ran('from-abort');
      const starts = waves.map((k) => FROM + k * PERIOD);
      assertScheduledAcks(o, starts);
      // Waves 1–2 started at their exact start (within a step of the clock), once.
      assertStarts(o, starts, SECOND, (k) => k < 2);
      const cancelled = new RegExp(`^${TOKEN} cancelled \\S+ the fleet rollout was aborted \\(${TOKEN} abort\\)$`);
      for (const label of ['aborted', 'past wave 10']) {
        const c = o.checkpoints.find((x) => x.label === label)!;
        for (const [i, k] of waves.entries()) if (k >= 2) assert.match(c.acks[i] ?? '(none)', cancelled, `${short(i)} at ${label}`);
      }
      for (const [i, k] of waves.entries()) if (k >= 2) assert.deepEqual(o.reboots[i], [], `${short(i)} rebooted after the abort`);
    });

    it('requests per device-hour: the rollout adds its ack writes and nothing else', async () => {
      const [a, b] = await Promise.all([ran('first-seen'), ran('without')]);
      const acks = sum(a.ackWrites);
      console.log(`fleet rollout: requests per device-hour ${perDeviceHour(a.requests).toFixed(2)} with the rollout, ${perDeviceHour(b.requests).toFixed(2)} without (${a.requests} and ${b.requests} requests in ${SPAN / MINUTE} simulated minutes; ${acks} of them tag writes carrying the rollout's acks, ${perDeviceHour(a.requests - acks).toFixed(2)} per device-hour without those)`);
      assert.equal(sum(b.ackWrites), 0);
      // Fleet tags come with the poll: the rollout adds no read, and nothing but its ack writes.
      // Each agent's one random source also draws for its writes, so its later polls shift: the
      // counts agree within 2 % (the poll interval's ±20 % jitter), not to the request.
      const near = (x: number, y: number): boolean => Math.abs(x - y) <= 0.02 * y;
      assert.ok(near(a.reads, b.reads), `${a.reads} reads with the rollout, ${b.reads} without`);
      assert.ok(near(a.requests - acks, b.requests), `${a.requests - acks} requests besides the ack writes, ${b.requests} without the rollout`);
      // A device writes its ack at most four times: scheduled, running (before the call), running
      // (waiting for a new boot), its outcome.
      for (const [i, n] of a.ackWrites.entries()) assert.ok(n <= 4, `${short(i)} wrote its ack ${n} times`);
    });
  });
}
