/**
 * What one run of the image's HEALTHCHECK costs a device: CPU time and peak RSS of the process
 * it starts, against a running /healthz, side by side with a bare Node process, the CLI's
 * `health` and (with `--before <main.js>`) an older CLI. Median of 15 runs each. Prints figures.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startHttpServer } from '../src/http/server.js';

const RUNS = 15;
const PRELOAD = fileURLToPath(new URL('./lib/rusage.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const PROBE = fileURLToPath(new URL('../src/healthcheck.js', import.meta.url));

interface Figures {
  cpuMs: number;
  peakMiB: number;
  exit: number | null;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Runs one child to its end (asynchronously: the /healthz it asks lives in this process). */
function runOnce(args: string[], env: Record<string, string>): Promise<{ stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PRELOAD, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ stderr, status }));
  });
}

async function measure(args: string[], env: Record<string, string>): Promise<Figures> {
  const cpu: number[] = [];
  const rss: number[] = [];
  let exit: number | null = null;
  for (let i = 0; i < RUNS; i++) {
    const r = await runOnce(args, env);
    const line = /RUSAGE (\{.*\})/.exec(r.stderr)?.[1];
    if (line === undefined) throw new Error(`no figures from ${args.join(' ')}: ${r.stderr}`);
    const u = JSON.parse(line) as { cpuUs: number; maxRssKb: number };
    cpu.push(u.cpuUs / 1000);
    rss.push(u.maxRssKb / 1024);
    exit = r.status;
  }
  return { cpuMs: median(cpu), peakMiB: median(rss), exit };
}

const argv = process.argv.slice(2);
const beforeAt = argv.indexOf('--before');
const before = beforeAt >= 0 ? argv[beforeAt + 1] : undefined;

const server = await startHttpServer({ port: 0, bind: '127.0.0.1', token: null, healthz: () => ({ ok: true, state: 'ok', reasons: [] }), status: () => ({}) });
try {
  const env = { AGENT_HTTP_PORT: String(server.port) };
  const rows: Array<[string, Figures]> = [
    ['bare Node (`node -e 0`)', await measure(['-e', '0'], env)],
    ['HEALTHCHECK probe (`node dist/src/healthcheck.js`)', await measure([PROBE], env)],
    ['CLI (`node dist/src/main.js health`)', await measure([MAIN, 'health'], env)],
  ];
  if (before !== undefined) rows.push([`older CLI (\`node --liftoff-only ${before} health\`)`, await measure(['--liftoff-only', before, 'health'], env)]);
  console.log(`\nOne health check against a running /healthz, Node ${process.versions.node}, median of ${RUNS} runs (getrusage of the child)`);
  console.log('| process | CPU time | peak RSS | exit |');
  console.log('|---|---|---|---|');
  for (const [name, f] of rows) console.log(`| ${name} | ${f.cpuMs.toFixed(0)} ms | ${f.peakMiB.toFixed(1)} MiB | ${f.exit} |`);
} finally {
  await server.close();
}
