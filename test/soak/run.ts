/**
 * `npm run soak`: the crash-and-fault harness. Runs the built agent as child processes against
 * one cloud simulator (many devices) and one supervisor simulator per device, for many rounds,
 * several devices at a time; each round sends one command with a fresh token while the world
 * misbehaves, then checks the token ran exactly once (or honestly failed) and was acknowledged.
 * Exits 1 on any violation (duplicate, false done, stuck, lost), 0 otherwise.
 *
 *   --rounds N      rounds in all (default 1000)
 *   --parallel P    devices at a time (default 24)
 *   --seed S        the run's seed (default: random); round 0 uses S itself
 *   --commands a,b  commands to choose from (default: all)
 *   --settle S      seconds the agent has, once the world is calm, to settle a token (default 300)
 *   --trace         print every round's trace, not only those with a violation
 *   --agent-log     put every agent log line into the traces (for a replay)
 */
import { randomBytes, randomInt } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CloudSimulator, type CloudSeed } from '../../src/sim/cloud/simulator.js';
import type { SimEffect } from '../../src/sim/supervisor/simulator.js';
import { freePort } from '../helpers/agent-child.js';
import { killAllChildren, liveChildren } from './children.js';
import { SoakDevice, type SoakStats } from './device.js';
import { EXACTLY_ONCE, planRound, SOAK_COMMANDS, type SoakCommand } from './plan.js';
import { summary } from './report.js';
import { effectKey, runRound, SETTLE_MS, type RoundResult } from './round.js';
import { roundSeed } from './rng.js';

const APP_ID = 1;

function options(): { rounds: number; parallel: number; seed: number; commands: SoakCommand[]; settleMs: number; trace: boolean; agentLog: boolean } {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '1000' },
      parallel: { type: 'string', default: '24' },
      seed: { type: 'string' },
      commands: { type: 'string', default: SOAK_COMMANDS.join(',') },
      settle: { type: 'string', default: String(SETTLE_MS / 1000) },
      trace: { type: 'boolean', default: false },
      'agent-log': { type: 'boolean', default: false },
    },
  });
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const commands = values.commands.split(',').map((c) => c.trim()).filter(Boolean);
  const unknown = commands.filter((c) => !(SOAK_COMMANDS as readonly string[]).includes(c));
  if (unknown.length > 0 || commands.length === 0) throw new Error(`--commands: unknown ${unknown.join(', ') || '(none given)'}; known: ${SOAK_COMMANDS.join(', ')}`);
  return {
    rounds: int('rounds', values.rounds, 1),
    parallel: int('parallel', values.parallel, 1),
    seed: values.seed === undefined ? randomInt(2 ** 32) : int('seed', values.seed, 0) >>> 0,
    commands: commands as SoakCommand[],
    settleMs: int('settle', values.settle, 1) * 1000,
    trace: values.trace,
    agentLog: values['agent-log'],
  };
}

function cloudSeed(devices: Array<{ uuid: string; key: string }>): CloudSeed {
  return {
    users: [{ id: 1, username: 'operator', email: 'operator@example.com', password: 'soak-password', apiKey: randomBytes(16).toString('hex') }],
    applications: [{ id: APP_ID, app_name: 'soak-fleet', slug: 'operator/soak-fleet', device_type: 'raspberrypi4-64' }],
    devices: devices.map((d, i) => ({
      id: i + 1, uuid: d.uuid, device_name: `soak-${i}`, application: APP_ID, apiKey: d.key, supervisor_version: '19.0.5',
      os_version: 'balenaOS 6.5.0', is_online: true, device_type: 'raspberrypi4-64',
    })),
  };
}

function printRound(r: RoundResult, all: boolean, commands: readonly string[]): void {
  if (r.violations.length === 0 && !all) return;
  const lines = [
    `${r.violations.length > 0 ? 'VIOLATION' : 'round'} #${r.index} device ${r.device} ${r.plan.command} ${r.plan.value} (seed ${r.plan.seed}): ${r.violations.join('; ') || 'ok'}`,
    ...(r.trace.length <= 70 ? r.trace : [...r.trace.slice(0, 30), `… ${r.trace.length - 65} more lines …`, ...r.trace.slice(-35)]).map((t) => `    ${t}`),
    `    replay: npm run soak -- --rounds 1 --parallel 1 --seed ${r.plan.seed} --commands ${r.plan.command}` +
      (commands.length > 1 ? ' (a fresh device: earlier rounds on it are not replayed)' : ''),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<number> {
  const opts = options();
  const started = Date.now();
  const interrupt = new AbortController();
  // Every wait of every device listens on it.
  setMaxListeners(0, interrupt.signal);
  const onSignal = (sig: string): void => {
    process.stdout.write(`\n${sig}: stopping; killing ${killAllChildren()} agent processes\n`);
    interrupt.abort();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  const lanes = Math.min(opts.parallel, opts.rounds);
  process.stdout.write(`soak: ${opts.rounds} rounds, ${lanes} devices at a time, seed ${opts.seed}, commands ${opts.commands.join(',')}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'fleet-agent-soak-'));
  const ids = Array.from({ length: lanes }, () => ({ uuid: randomBytes(16).toString('hex'), key: randomBytes(16).toString('hex') }));
  const cloud = new CloudSimulator({ seed: cloudSeed(ids) });
  await cloud.start();
  const stats: SoakStats = { sigkills: 0, sigterms: 0, effectKills: 0, clockSteps: 0, agentStarts: 0 };
  const results: RoundResult[] = [];
  const devices: SoakDevice[] = [];
  let next = 0;
  let flagged = 0;
  try {
    await Promise.all(ids.map(async (id, i) => {
      const device = new SoakDevice({
        index: i, uuid: id.uuid, deviceKey: id.key, cloud, dir: join(dir, `device-${i}`), appId: APP_ID,
        httpPort: await freePort(), seed: roundSeed(opts.seed ^ 0x5eed, i + 1), stats, agentLog: opts.agentLog, signal: interrupt.signal,
      });
      devices.push(device);
      // Effects outside their round's window go to the last round of that command on this device.
      const last = new Map<string, RoundResult>();
      const late = (e: SimEffect): void => {
        const r = last.get(effectKey(e));
        if (!r) return;
        r.acted += 1;
        const text = `duplicate (late): the supervisor acted again (${r.acted} times) after the round ended`;
        if (EXACTLY_ONCE.has(r.plan.command) && r.acted > 1 && !r.violations.some((v) => v.startsWith('duplicate'))) {
          r.violations.push(text);
          flagged += 1;
          process.stdout.write(`VIOLATION #${r.index} device ${i} ${r.plan.command} ${r.plan.value} (seed ${r.plan.seed}): ${text}\n`);
        }
      };
      device.effectListener = late;
      // Devices come up a little apart, so that their agents do not all start on the same instant.
      await delay(i * 200, undefined, { signal: interrupt.signal }).catch(() => undefined);
      await device.start();
      while (!interrupt.signal.aborted) {
        const index = next++;
        if (index >= opts.rounds) break;
        const plan = planRound(roundSeed(opts.seed, index), opts.commands);
        const result = await runRound(device, cloud, id.uuid, index, i, plan, late, interrupt.signal, opts.settleMs);
        if (interrupt.signal.aborted) break;
        results.push(result);
        last.set(`${plan.command}|${plan.service ?? ''}`, result);
        if (result.violations.length > 0) flagged += 1;
        printRound(result, opts.trace, opts.commands);
        if (results.length % 50 === 0) {
          const s = Math.round((Date.now() - started) / 1000);
          process.stdout.write(`… ${results.length}/${opts.rounds} rounds, ${flagged} with a violation, ${s} s\n`);
        }
      }
      // A token run again after its round ended shows up within two more polls.
      if (!interrupt.signal.aborted) await device.morePolls(2, 60_000);
    }));
  } finally {
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)));
    killAllChildren();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
  results.sort((a, b) => a.index - b.index);
  process.stdout.write(`\n${summary(results, stats, Date.now() - started, opts.commands)}\n`);
  if (liveChildren() > 0) process.stdout.write(`warning: ${liveChildren()} agent processes still running\n`);
  if (interrupt.signal.aborted) return 130;
  return results.some((r) => r.violations.length > 0) ? 1 : 0;
}

process.on('exit', () => killAllChildren());
process.on('uncaughtException', (err) => {
  killAllChildren();
  process.stderr.write(`soak: ${err.stack ?? String(err)}\n`);
  process.exit(2);
});
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    killAllChildren();
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
