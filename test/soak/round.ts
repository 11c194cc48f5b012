/**
 * One soak round on one device: set a command tag with a fresh token, let the world misbehave as
 * planned (a faulty supervisor call, kills at chosen moments, wall-clock steps), wait for calm,
 * let the agent settle, then judge the token by what the supervisor did and what the cloud shows.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { parseAck, TERMINAL, type Ack } from '../../src/agent/acks.js';
import type { CloudSimulator } from '../../src/sim/cloud/simulator.js';
import type { SimEffect } from '../../src/sim/supervisor/simulator.js';
import type { SoakDevice } from './device.js';
import { callSuffix, effectKind, EXACTLY_ONCE, type PlannedKill, type RoundPlan } from './plan.js';

/** The acks of an agent watching for the evidence of a call without an answer (evidence.ts). */
const WATCHING = /(waiting for a new boot|checking for \d+ min whether it happened)$/;
/** How far the agent's wall clock jumps to let a watch's grace period pass (longer than the longest, 15 min). */
const GRACE_JUMP_MS = 20 * 60_000;

/** How long the chaos of a round may last: kills waiting on an event that never comes are dropped then. */
export const STORM_MS = 20_000;
/** How long the agent has by default, once the world is calm, to settle the token (`--settle`). */
export const SETTLE_MS = 300_000;
/** An exactly-once command acting this often is looping: the round ends at once (stuck) instead of waiting. */
const LOOPING = 3;

/** What a round found. */
export interface RoundResult {
  index: number;
  device: number;
  plan: RoundPlan;
  /** Times the supervisor acted for the token (in the round, and later). */
  acted: number;
  /** New boots of the device during the round. */
  boots: number;
  final: Ack | undefined;
  /** The token's entry in the agent's journal at the end, if any. */
  journal: string;
  settled: boolean;
  /** A reboot/shutdown whose call never acted, waiting out the agent's boot grace; ended by restarting the agent. */
  bootGrace: boolean;
  violations: string[];
  trace: string[];
  ms: number;
}

/** The command and service an effect belongs to. */
export function effectKey(e: Pick<SimEffect, 'kind' | 'service'>): string {
  const command = e.kind === 'blink' ? 'identify' : e.kind;
  return `${command}|${e.service ?? ''}`;
}

function planKey(plan: RoundPlan): string {
  return `${plan.command}|${plan.service ?? ''}`;
}

/** Runs one round; `late` receives effects that belong to no running round's token. */
export async function runRound(
  device: SoakDevice,
  cloud: CloudSimulator,
  uuid: string,
  index: number,
  deviceIndex: number,
  plan: RoundPlan,
  late: (e: SimEffect) => void,
  signal: AbortSignal,
  settleMs = SETTLE_MS,
): Promise<RoundResult> {
  const t0 = Date.now();
  const trace: string[] = [];
  const note = (text: string): void => void trace.push(`+${String(Date.now() - t0).padStart(6)} ms  ${text}`);
  const result: RoundResult = {
    index, device: deviceIndex, plan, acted: 0, boots: 0, final: undefined, journal: '-', settled: false, bootGrace: false,
    violations: [], trace, ms: 0,
  };
  const ackKey = `agent.${plan.command}.ack`;
  const expected = `${effectKind(plan.command)}`;
  const matches = (e: SimEffect): boolean => effectKey(e) === planKey(plan) && e.kind === expected;
  const isCall = (method: string, path: string): boolean => method === 'POST' && path.endsWith(callSuffix(plan.command));
  const listeners = new Set<{ fire: (what: string, state?: string) => void }>();
  const startBoots = device.boots;
  let acksNamed = 0;
  device.tracer = note;
  device.effectListener = (e) => {
    if (matches(e)) {
      result.acted += 1;
      for (const l of listeners) l.fire('effect');
    } else late(e);
  };
  device.ackListener = (key, value) => {
    if (key !== ackKey) return;
    note(`ack ${value.slice(0, 160)}`);
    const ack = parseAck(value);
    if (ack?.token !== plan.token) return;
    acksNamed += 1;
    for (const l of listeners) l.fire('ack', ack.state);
  };
  // Calls the supervisor is still holding (a late effect may come from one).
  let inFlight = 0;
  const offIncoming = device.sup.onIncoming((r) => {
    if (isCall(r.method, r.path)) {
      inFlight += 1;
      note(`call arrives: ${r.method} ${r.path}`);
      for (const l of listeners) l.fire('arrival');
    }
  });
  const offRecorded = device.sup.onRequest((r) => {
    if (!isCall(r.method, r.path)) return;
    inFlight -= 1;
    if (r.fault !== undefined || r.status >= 300) note(`call ${r.fault ?? `answered ${r.status}`}`);
    device.waker.wake();
  });
  const ackNow = (): Ack | undefined => {
    const v = cloud.deviceTags(uuid)[ackKey];
    return v === undefined ? undefined : parseAck(v);
  };

  // The storm.
  const { fault } = plan;
  note(`tag agent.${plan.command} = ${plan.value}; fault ${JSON.stringify(fault)}`);
  switch (fault.kind) {
    case 'none':
      break;
    case 'slow':
      device.sup.addFault({ route: isCall, delayBeforeMs: fault.delayBeforeMs, delayAfterMs: fault.delayAfterMs });
      break;
    case 'held':
      device.sup.addFault({ route: isCall, delayBeforeMs: fault.delayBeforeMs, dropIfClientLeft: true });
      break;
    case 'reset-before':
      device.sup.addFault({ route: isCall, reset: 'before' });
      break;
    case 'reset-after':
      device.sup.addFault({ route: isCall, reset: 'after', delayAfterMs: fault.delayAfterMs });
      break;
    case 'lock':
      device.sup.setLock('Updates are locked: soak lock');
      break;
  }
  cloud.setDeviceTag(uuid, `agent.${plan.command}`, plan.value);
  const stormStop = new AbortController();
  const storm = AbortSignal.any([stormStop.signal, signal]);
  // Timed chaos always runs; kills waiting on an event are dropped once the token is settled.
  const chaos: Array<Promise<unknown>> = [];
  const onEvents: Array<Promise<unknown>> = [];
  const after = (ms: number): Promise<boolean> => delay(ms, undefined, { signal: storm }).then(() => true, () => false);
  for (const kill of plan.kills) (kill.moment === 'timer' ? chaos : onEvents).push(scheduleKill(kill));
  for (const step of plan.clockSteps) chaos.push(after(step.atMs).then((go) => (go ? device.stepClock(step.offsetMs) : undefined)));
  if (fault.kind === 'lock') {
    chaos.push(after(fault.holdMs).then(() => {
      device.sup.setLock(null);
      note('lock released');
    }));
  }
  const stormTimer = delay(STORM_MS + (fault.kind === 'lock' ? fault.holdMs : 0), undefined, { signal: storm }).then(() => stormStop.abort(), () => undefined);
  let eventsDone = false;
  void Promise.all(onEvents).then(() => ((eventsDone = true), device.waker.wake()));

  function scheduleKill(kill: PlannedKill): Promise<unknown> {
    const why = `${kill.moment}${kill.moment === 'timer' ? '' : ` +${kill.delayMs} ms`}`;
    if (kill.moment === 'timer') {
      return after(kill.delayMs).then((go) => {
        if (go) device.crash(kill.signal, kill.restartAfterMs, why);
      });
    }
    return new Promise<void>((resolve) => {
      const listener = {
        fire: (what: string, state?: string) => {
          const hit =
            (kill.moment === 'arrival' && what === 'arrival') ||
            (kill.moment === 'effect' && what === 'effect') ||
            (kill.moment === 'ack-running' && what === 'ack' && state === 'running') ||
            (kill.moment === 'ack-final' && what === 'ack' && state !== undefined && TERMINAL.has(state as Ack['state']));
          if (!hit) return;
          listeners.delete(listener);
          void after(kill.delayMs).then((go) => {
            if (go) device.crash(kill.signal, kill.restartAfterMs, why);
            resolve();
          });
        },
      };
      listeners.add(listener);
      storm.addEventListener('abort', () => (listeners.delete(listener), resolve()), { once: true });
    });
  }

  const settledNow = (): boolean => {
    const ack = ackNow();
    return ack?.token === plan.token && TERMINAL.has(ack.state) && inFlight === 0 && device.settled();
  };
  await Promise.all(chaos);
  await device.until(() => eventsDone || settledNow() || storm.aborted, STORM_MS);
  stormStop.abort();
  await stormTimer;
  listeners.clear();
  device.sup.clearFaults();
  device.sup.setLock(null);
  note('calm');

  // Settling: a terminal ack for the token, nothing in flight, the device idle and its agent past
  // its first poll (a restarted agent decides there whether to run the token again). Effects that
  // come even later are still counted (as late ones) against this round.
  const deadline = Date.now() + settleMs;
  const looping = (): boolean => EXACTLY_ONCE.has(plan.command) && result.acted >= LOOPING;
  for (;;) {
    let graceHit = false;
    const ok = await device.until(() => {
      if (looping()) return true;
      const ack = ackNow();
      if (ack?.token === plan.token && ack.state === 'running' && WATCHING.test(ack.detail) && result.acted === 0
        && !result.bootGrace && inFlight === 0 && device.settled()) {
        return (graceHit = true);
      }
      return settledNow();
    }, Math.max(0, deadline - Date.now()));
    if (ok && graceHit) {
      // The agent watches for the evidence (a new boot: 15 min; recreated containers: 3 min)
      // before `failed`. Time passes instead: its wall clock is stepped past the grace period and
      // it is restarted (same boot), so it judges at once on what it sees.
      result.bootGrace = true;
      note('never acted: the agent watches for evidence; its clock jumps past the grace period and it restarts');
      // Past the largest offset the call could have been stamped under.
      await device.stepClock(device.maxClockOffset() + GRACE_JUMP_MS);
      device.crash('SIGTERM', 100, 'grace period passed');
      continue;
    }
    result.settled = ok && !looping();
    break;
  }

  result.final = ackNow();
  result.boots = device.boots - startBoots;
  result.journal = await journalState(device.journalPath, plan.command, plan.token);
  const named = result.final?.token === plan.token;
  if (EXACTLY_ONCE.has(plan.command) && result.acted > 1) result.violations.push(`duplicate: the supervisor acted ${result.acted} times`);
  if (named && result.final?.state === 'done') {
    if (result.acted === 0) result.violations.push('false done: done but the supervisor never acted');
    else if ((plan.command === 'reboot' || plan.command === 'shutdown') && result.boots === 0) result.violations.push('false done: done without a new boot');
  }
  if (!result.settled) {
    if (!named && acksNamed === 0) result.violations.push(`lost: no ack ever named the token${looping() ? ` (and it ran ${result.acted} times)` : ''}`);
    else if (looping()) result.violations.push(`stuck: it runs again and again (${result.acted} times so far)`);
    else result.violations.push(`stuck: no terminal ack ${Math.round(settleMs / 1000)} s after calm (ack: ${result.final ? `${result.final.token} ${result.final.state}` : 'none'})`);
    // Heal the device for the next round: without the tag a looping command stops.
    cloud.removeDeviceTag(uuid, `agent.${plan.command}`);
    note('tag removed to end the round');
    await device.until(() => device.idle(), 60_000);
  }
  offIncoming();
  offRecorded();
  note(`end: acted ${result.acted}, boots ${result.boots}, ack ${result.final ? `${result.final.state} ${result.final.detail}` : 'none'}, journal ${result.journal}`);
  device.ackListener = undefined;
  device.effectListener = late;
  device.tracer = undefined;
  result.ms = Date.now() - t0;
  return result;
}

/** The token's state in the journal file (`absent`, `no journal`). */
async function journalState(path: string, command: string, token: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return 'no journal';
  try {
    const data = JSON.parse(text) as { entries?: Array<{ command: string; token: string; state: string; sending: boolean }> };
    const e = data.entries?.find((x) => x.command === command && x.token === token);
    return e ? `${e.state}${e.sending ? ' (sending)' : ''}` : 'absent';
  } catch {
    return 'unreadable';
  }
}
