/**
 * Log forwarding's throughput and memory: the built agent (`fleet-agent run`, the image's Node
 * flags, pinned to one core with taskset when there is one) reads a journal backlog from the
 * supervisor simulator's follow, spools it and sends it to a loopback NDJSON receiver. Compared in
 * the same run with `gzip -1` over the same journal bytes. Also the RSS forwarding adds: the
 * agent's peak RSS while forwarding minus its peak RSS over the same time without forwarding.
 * A second, paced phase measures the RSS goal at the goal's rate: the journal produces lines live on
 * the follow at 20,000 lines/s for 10 s (slices on a 10 ms timer), and the agent's peak RSS over
 * that span is compared with the same agent without forwarding over the same span; it also prints
 * whether the agent kept up (lines received = produced, the largest lag, the drain after the last).
 * Goals: ≥ 20,000 lines/s, ≤ 2× gzip's time, ≤ 3 MB added. Prints figures; not a test.
 * `--lines N` (default 200,000); `--flags "…"` replaces the image's Node flags (to compare).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudSimulator, DEMO, demoSeed } from '../src/sim/cloud/simulator.js';
import { SupervisorSimulator } from '../src/sim/supervisor/simulator.js';
import { freePort, until } from '../test/helpers/agent-child.js';
import { LogReceiver } from '../test/helpers/log-receiver.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const arg = process.argv.indexOf('--lines');
const LINES = arg > 0 ? Number(process.argv[arg + 1]) : 200_000;

function imageFlags(): string[] {
  const extra = process.argv.indexOf('--flags');
  if (extra > 0) return (process.argv[extra + 1] ?? '').split(' ').filter(Boolean);
  const dockerfile = readFileSync(new URL('../../Dockerfile.template', import.meta.url), 'utf8');
  const words = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
  return words.slice(1, words.indexOf('dist/src/main.js'));
}

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) the process has used. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

async function peakRssKb(pid: number, field = 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
}

/** One agent run; returns the seconds from start to the last line received (or a fixed time without forwarding) and its peak RSS. */
async function runAgent(forward: boolean, holdMs: number, paced?: Paced): Promise<{ firstToLastS: number; startToLastS: number; peakKb: number; anonKb: number; received: number; journalBytes: number; cpuS: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-agent-logs-bench-'));
  const supervisor = new SupervisorSimulator({ apiKey: 'benchsupervisorkey', appId: DEMO.fleetId, version: '19.0.5', journal: [] });
  await supervisor.start();
  const cloud = new CloudSimulator({ seed: demoSeed({ deviceKey: 'benchdevicekey0000' }) });
  await cloud.start();
  const receiver = new LogReceiver();
  await receiver.start();
  const units = ['balena.service', 'NetworkManager.service', 'kernel', 'openvpn.service'];
  const push = (i: number): void =>
    supervisor.pushJournal({ message: `bench line ${i}: some ordinary log text of a typical length, status=ok`, unit: units[i % units.length]!, priority: 6 });
  if (!paced) for (let i = 0; i < LINES; i++) push(i);
  const env = {
    PATH: process.env.PATH ?? '', BALENA_SUPERVISOR_ADDRESS: supervisor.url, BALENA_SUPERVISOR_API_KEY: 'benchsupervisorkey',
    BALENA_APP_ID: String(DEMO.fleetId), BALENA_API_URL: cloud.url, BALENA_API_KEY: 'benchdevicekey0000', BALENA_DEVICE_UUID: DEMO.deviceUuid,
    AGENT_START_SPREAD: '0', AGENT_POLL_INTERVAL: '10m', AGENT_DATA_DIR: join(dir, 'data'), AGENT_HTTP_PORT: String(await freePort()),
    AGENT_LOG_LEVEL: 'warn', ...(forward ? { AGENT_LOGS_FORWARD: receiver.url } : {}),
  };
  const node = [process.execPath, ...imageFlags(), MAIN, 'run'];
  const cmd = hasTaskset ? ['taskset', '-c', '0', ...node] : node;
  const started = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', 'ignore', 'inherit'] });
  let first = 0;
  void receiver.waitFor(1).then(() => (first = performance.now()));
  if (paced) await pace(paced, child.pid!, forward, supervisor, receiver, push);
  else if (forward) await until('every line received', () => receiver.lines.length >= LINES || undefined, 600_000);
  else await new Promise((resolve) => setTimeout(resolve, holdMs));
  const last = performance.now();
  const peakKb = await peakRssKb(child.pid!);
  const anonKb = await peakRssKb(child.pid!, 'RssAnon');
  const cpuS = await cpuSeconds(child.pid!);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  const journalBytes = journalText(supervisor, LINES).length;
  await receiver.stop();
  await supervisor.stop();
  await cloud.stop();
  await rm(dir, { recursive: true, force: true });
  return { firstToLastS: (last - first) / 1000, startToLastS: (last - started) / 1000, peakKb, anonKb, received: receiver.lines.length, journalBytes, cpuS };
}

/** The paced phase's settings and, filled in by a run, what it saw. */
interface Paced {
  rate: number;
  seconds: number;
  /** ms from start to the follow being open, from the forwarding run (the run without waits as long). */
  settleMs?: number;
  produced?: number;
  maxLag?: number;
  drainS?: number;
  peakSampledKb?: number;
}

/** Produces `rate` lines/s on the live follow for `seconds`, sampling the agent's RSS every 10 ms tick. */
async function pace(p: Paced, pid: number, forward: boolean, sup: SupervisorSimulator, receiver: LogReceiver, push: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  if (forward) {
    await until('the follow open', () => sup.journalFollowers > 0 || undefined, 30_000);
    p.settleMs = performance.now() - t0 + 500;
  }
  await new Promise((resolve) => setTimeout(resolve, (p.settleMs ?? 2_000) - (performance.now() - t0)));
  const total = p.rate * p.seconds;
  let produced = 0;
  let maxLag = 0;
  let peak = 0;
  const start = performance.now();
  while (produced < total) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * p.rate));
    while (produced < due) push(produced++);
    if (forward) maxLag = Math.max(maxLag, produced - receiver.lines.length);
    void peakRssKb(pid, 'VmRSS').then((kb) => (peak = Math.max(peak, kb)));
  }
  const end = performance.now();
  if (forward) await until('every paced line received', () => receiver.lines.length >= total || undefined, 60_000);
  p.drainS = (performance.now() - end) / 1000;
  p.produced = produced;
  p.maxLag = maxLag;
  p.peakSampledKb = Math.max(peak, await peakRssKb(pid, 'VmRSS'));
}

/** The journal's JSON text as the agent reads it (the same bytes gzip gets). */
function journalText(_sup: SupervisorSimulator, n: number): Buffer {
  const units = ['balena.service', 'NetworkManager.service', 'kernel', 'openvpn.service'];
  let text = '';
  const t0 = Date.now() * 1000;
  for (let i = 0; i < n; i++) {
    text += `${JSON.stringify({
      __CURSOR: `s=sim;i=${(i + 1).toString(16)};t=${(t0 + i).toString(16)}`, __REALTIME_TIMESTAMP: String(t0 + i), _HOSTNAME: 'bench',
      PRIORITY: '6', SYSLOG_IDENTIFIER: 'balenad', _SYSTEMD_UNIT: units[i % units.length], MESSAGE: `bench line ${i}: some ordinary log text of a typical length, status=ok`,
    })}\n`;
  }
  return Buffer.from(text);
}

function gzipSeconds(bytes: Buffer): number {
  const start = performance.now();
  const r = spawnSync('sh', ['-c', `${hasTaskset ? 'taskset -c 0 ' : ''}gzip -1 > /dev/null`], { input: bytes, maxBuffer: 1 });
  if (r.status !== 0) throw new Error('gzip -1 failed');
  return (performance.now() - start) / 1000;
}

const on = await runAgent(true, 0);
const off = await runAgent(false, on.startToLastS * 1000);
const bytes = journalText(undefined as unknown as SupervisorSimulator, LINES);
const gz = gzipSeconds(bytes);
const rate = LINES / on.startToLastS;
console.log(`node ${process.version}, flags ${imageFlags().join(' ') || '(none)'}, agent on ${hasTaskset ? 'one core (taskset -c 0)' : 'any core'}`);
console.log(`lines: ${LINES}, journal bytes: ${(bytes.length / 1e6).toFixed(1)} MB, received ${on.received}`);
console.log(`forwarding: ${on.startToLastS.toFixed(2)} s from process start to the last line (${Math.round(rate)} lines/s); first to last line ${on.firstToLastS.toFixed(2)} s (${Math.round(LINES / on.firstToLastS)} lines/s)  goal ≥ 20000`);
console.log(`gzip -1 over the same bytes: ${gz.toFixed(2)} s; forwarding / gzip = ${(on.firstToLastS / gz).toFixed(2)}×  goal ≤ 2×`);
const cpu = on.cpuS - off.cpuS;
console.log(`agent CPU: ${on.cpuS.toFixed(2)} s forwarding, ${off.cpuS.toFixed(2)} s without over the same span; forwarding's own ${cpu.toFixed(2)} s = ${((cpu / LINES) * 1e6).toFixed(1)} µs per line, ${(cpu / gz).toFixed(1)}× gzip's time`);
console.log(`backlog peak RSS: ${(on.peakKb / 1024).toFixed(1)} MB forwarding, ${(off.peakKb / 1024).toFixed(1)} MB without; added ${((on.peakKb - off.peakKb) / 1024).toFixed(1)} MB  goal ≤ 3 MB`);
console.log(`  of it anonymous memory (heap, buffers) at the end: ${((on.anonKb - off.anonKb) / 1024).toFixed(1)} MB; the rest is pages of the node binary and libraries first touched by forwarding's code`);

const pacedOn: Paced = { rate: 20_000, seconds: 10 };
const pon = await runAgent(true, 0, pacedOn);
const pacedOff: Paced = { rate: 20_000, seconds: 10, settleMs: pacedOn.settleMs ?? 2_000 };
await runAgent(false, 0, pacedOff);
const mb = (kb: number): string => (kb / 1024).toFixed(1);
console.log(`paced: ${pacedOn.produced} lines produced live at ${pacedOn.rate} lines/s over ${pacedOn.seconds} s, received ${pon.received}; largest lag ${pacedOn.maxLag} lines; last line in ${pacedOn.drainS?.toFixed(2)} s after the last produced (${pon.received === pacedOn.produced && (pacedOn.drainS ?? 99) < 1 ? 'kept up' : 'did NOT keep up'})`);
console.log(`paced peak RSS (sampled every 10 ms over the span): ${mb(pacedOn.peakSampledKb ?? 0)} MB forwarding, ${mb(pacedOff.peakSampledKb ?? 0)} MB without; added ${mb((pacedOn.peakSampledKb ?? 0) - (pacedOff.peakSampledKb ?? 0))} MB  goal ≤ 3 MB`);
