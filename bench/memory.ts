/**
 * What `fleet-agent run` costs a device: resident memory and CPU time of the real process
 * against both simulators, at start, after the first poll, and over polls with commands.
 * Measured with no Node flags and with the image's (read from Dockerfile.template's CMD);
 * `--matrix` adds the other candidate flags, to choose them by measurement; `--try='WORDS'` measures
 * only the given variant (Node flags and NAME=value environment words) with the operator's surfaces on. `--surfaces`: in one
 * run with the image's flags, a bare Node process, the agent with commands only (sampling off)
 * and the agent with everything an operator looks at (samples every 10 s, a `/logs` client
 * connected, the page and `/metrics` loaded), steady and peak RSS, and their ratios to the bare
 * process. Prints figures; not a test. About 40 s of real time per variant (the shortest poll
 * interval is 10 s).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { CloudSimulator, DEMO, demoSeed } from '../src/sim/cloud/simulator.js';
import { SupervisorSimulator } from '../src/sim/supervisor/simulator.js';
import { freePort } from '../test/helpers/agent-child.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const POLLS = 3;
/** The Node flags of the image's CMD: the words between `node` and the script in Dockerfile.template. */
function imageFlags(): string[] {
  const dockerfile = readFileSync(new URL('../../Dockerfile.template', import.meta.url), 'utf8');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  const words = cmd === undefined ? [] : (JSON.parse(cmd) as string[]);
  return words.slice(1, words.indexOf('dist/src/main.js'));
}

/** Flags worth trying on a small device, each alone and with the image's. */
const CANDIDATES = [
  ['--liftoff-only'],
  ['--max-semi-space-size=1'],
  ['--optimize-for-size'],
  ['--liftoff-only', '--max-semi-space-size=1'],
  ['--liftoff-only', '--optimize-for-size'],
  ['--liftoff-only', '--max-semi-space-size=1', '--optimize-for-size'],
  ['--liftoff-only', '--optimize-for-size', '--max-opt=2'],
  ['--liftoff-only', '--optimize-for-size', '--max-opt=1'],
  ['--liftoff-only', '--optimize-for-size', '--max-opt=0'],
  ['--liftoff-only', '--optimize-for-size', '--max-opt=1', '--single-threaded-gc'],
];

interface Sample {
  rssKb: number;
  hwmKb: number;
  cpuMs: number;
}

async function sample(pid: number): Promise<Sample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(stat[11] ?? 0) + Number(stat[12] ?? 0);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), cpuMs: ticks * 10 };
}

/** What runs besides commands: every behaviour, or the operator's surfaces (samples, the page, /metrics, a /logs client), or sampling off. */
type Extra = 'none' | 'behaviours' | 'surfaces' | 'commands-only';

/** Opens what an operator looks at: the page, /metrics, and a /logs client that stays connected (closed by the returned function). */
async function lookAt(base: string): Promise<() => void> {
  await (await fetch(`${base}/`)).text();
  await (await fetch(`${base}/metrics`)).text();
  const ws = new WebSocket(`${base.replace('http:', 'ws:')}/logs`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  return () => ws.close();
}

/** Words of a `--try=` variant: `NAME=value` ones go to the environment, the others are Node flags. */
function splitTry(words: string[]): { flags: string[]; env: Record<string, string> } {
  const env: Record<string, string> = {};
  for (const w of words.filter((x) => /^[A-Z_]+=/.test(x))) env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  return { flags: words.filter((x) => !/^[A-Z_]+=/.test(x)), env };
}

async function measure(words: string[], extra: Extra = 'none'): Promise<{ steady: Sample } | undefined> {
  const { flags, env } = splitTry(words);
  const behaviours = extra === 'behaviours';
  const dir = await mkdtemp(join(tmpdir(), 'fleet-agent-bench-'));
  const bootIdPath = join(dir, 'boot_id');
  await writeFile(bootIdPath, 'bench-boot\n');
  const supervisor = new SupervisorSimulator({ apiKey: 'benchsupervisorkey', appId: DEMO.fleetId, version: '19.0.5', bootIdPath });
  const supervisorUrl = await supervisor.start();
  const cloud = new CloudSimulator({ seed: demoSeed({ deviceKey: 'benchdevicekey0000' }) });
  const cloudUrl = await cloud.start();

  const port = await freePort();
  const child = spawn(process.execPath, [...flags, MAIN, 'run'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      BALENA_SUPERVISOR_ADDRESS: supervisorUrl,
      BALENA_SUPERVISOR_API_KEY: 'benchsupervisorkey',
      BALENA_APP_ID: String(DEMO.fleetId),
      BALENA_DEVICE_UUID: DEMO.deviceUuid,
      BALENA_API_URL: cloudUrl,
      BALENA_API_KEY: 'benchdevicekey0000',
      BALENA_SERVICE_NAME: 'fleet-agent',
      AGENT_POLL_INTERVAL: '10s',
      AGENT_START_SPREAD: '0s',
      AGENT_LOG_LEVEL: 'warn',
      AGENT_HTTP_PORT: String(port),
      ...(extra === 'commands-only' ? { AGENT_METRICS_INTERVAL: 'off' } : extra === 'surfaces' ? { AGENT_METRICS_INTERVAL: '10s' } : {}),
      AGENT_DATA_DIR: join(dir, 'data'),
      AGENT_BOOT_ID_PATH: bootIdPath,
      // Every behaviour on: the watchdog looks every 5 s (asking a check URL), a nightly schedule, an offline reboot.
      ...(behaviours
        ? { AGENT_WATCHDOG: 'all', AGENT_WATCHDOG_INTERVAL: '5s', AGENT_CHECK_MAIN: supervisor.checkUrl('main'), AGENT_REBOOT_SCHEDULE: '0 3 * * *', AGENT_OFFLINE_REBOOT: '6h' }
        : {}),
    },
  });
  const pid = child.pid ?? 0;
  const polls = (): number => cloud.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v7/device(')).length;

  try {
    const started = Date.now();
    await cloud.waitFor((r) => r.method === 'GET' && r.path.startsWith('/v7/device('), 30_000);
    const firstPollMs = Date.now() - started;
    await supervisor.waitFor((r) => r.path === '/v2/device/tags' && r.method === 'PATCH', 30_000);
    const afterFirst = await sample(pid);
    const close = extra === 'surfaces' ? await lookAt(`http://127.0.0.1:${port}`) : () => undefined;
    for (let i = 1; i <= POLLS; i++) {
      cloud.setDeviceTag(DEMO.deviceUuid, 'agent.identify', `bench-${i}`);
      await supervisor.waitFor((r) => r.path === '/v1/blink' && supervisor.counts.blinks >= i, 30_000);
      if (extra === 'surfaces') {
        supervisor.pushJournal({ message: `bench line ${i}`, unit: 'main.service' });
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      }
    }
    close();
    const pollsDone = polls();
    const after = await sample(pid);
    const cpuPerPoll = (after.cpuMs - afterFirst.cpuMs) / Math.max(1, pollsDone - 1);
    const what = `${words.join(' ') || '(no Node flags)'}${{ none: '', behaviours: ', every behaviour on', surfaces: ', samples every 10 s, the page, /metrics and a /logs client', 'commands-only': ', commands only (sampling off)' }[extra]}`;
    console.log(`\nfleet-agent run ${what} against the simulators (poll every 10 s), from /proc`);
    console.log('| measure | value |');
    console.log('|---|---|');
    console.log(`| start → first poll | ${firstPollMs} ms |`);
    console.log(`| RSS after the first poll and report | ${(afterFirst.rssKb / 1024).toFixed(1)} MiB |`);
    console.log(`| RSS after ${pollsDone} polls and ${POLLS} commands | ${(after.rssKb / 1024).toFixed(1)} MiB |`);
    console.log(`| peak RSS (VmHWM) | ${(after.hwmKb / 1024).toFixed(1)} MiB |`);
    console.log(`| CPU time to start and first poll | ${afterFirst.cpuMs} ms |`);
    console.log(`| CPU time per later poll (with one command each) | ${cpuPerPoll.toFixed(0)} ms |`);
    console.log(`| cloud requests in all | ${cloud.requests.length} |`);
    return { steady: after };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await supervisor.stop();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A bare Node process with the same flags, idle: what the agent adds is measured against it. */
async function bare(words: string[]): Promise<number> {
  const { flags, env } = splitTry(words);
  const child = spawn(process.execPath, [...flags, '-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore', env: { ...process.env, ...env } });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const s = await sample(child.pid ?? 0);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  console.log(`\nbare node ${words.join(' ') || '(no Node flags)'}, idle: RSS ${(s.rssKb / 1024).toFixed(1)} MiB`);
  return s.rssKb;
}

/** The ratios of `--surfaces`: each agent's steady and peak RSS against the bare process's. */
async function surfaces(): Promise<void> {
  const flags = imageFlags();
  const bareKb = await bare(flags);
  const rows: string[] = [];
  for (const extra of ['commands-only', 'surfaces'] as const) {
    const m = await measure(flags, extra);
    if (!m) continue;
    const mib = (kb: number): string => (kb / 1024).toFixed(1);
    rows.push(`| ${extra === 'surfaces' ? 'metrics, page, /metrics, /logs client' : 'commands only'} | ${mib(m.steady.rssKb)} MiB | ${(m.steady.rssKb / bareKb).toFixed(2)}× | ${mib(m.steady.hwmKb)} MiB | ${(m.steady.hwmKb / bareKb).toFixed(2)}× |`);
  }
  console.log(`\nagainst a bare idle node (${(bareKb / 1024).toFixed(1)} MiB), Node ${process.versions.node}, ${flags.join(' ')}; goals: steady <= 1.6×, peak <= 1.8×`);
  console.log('| agent | steady RSS | ratio | peak RSS (VmHWM) | ratio |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

if (process.argv.includes('--surfaces')) {
  await surfaces();
  process.exit(0);
}
// `--image`: the image's flags only (a quicker run).
// `--try=WORDS`: only these variants (Node flags and NAME=value environment words, space-separated; repeatable).
const tries = process.argv.filter((a) => a.startsWith('--try=')).map((a) => a.slice('--try='.length).split(' ').filter(Boolean));
const variants: string[][] = tries.length > 0 ? tries : process.argv.includes('--image') ? [imageFlags()] : [[], imageFlags()];
if (process.argv.includes('--matrix')) {
  for (const c of CANDIDATES) if (!variants.some((v) => v.join(' ') === c.join(' '))) variants.push(c);
}
console.log(`Node ${process.versions.node}; the image's flags: ${imageFlags().join(' ') || '(none)'}`);
for (const flags of variants) {
  await bare(flags);
  await measure(flags, tries.length > 0 ? 'surfaces' : 'none');
}
if (!process.argv.includes('--image') && tries.length === 0) await measure(imageFlags(), 'behaviours');
