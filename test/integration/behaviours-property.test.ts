/**
 * Property: every behaviour at once — a reboot schedule, the watchdog, offline reboot, the
 * operator's commands (reboot, restart, restart-service, start-service, update, identify; with and
 * without `now`), fleet commands set as fleet tags (with `rollout=` and sometimes `from=`, some
 * sharing the device tag's token, some aborted by `<token> abort` or by removing the tag), a
 * maintenance window (none, or one or two, some crossing midnight, some on a few days only; set in
 * the environment and changed mid-run by the live tag agent.config.maintenance-window) — over days
 * of service failures, crash loops, outages, agent crashes and reboots, with the agent as
 * buildAgent wires it on fast in-memory models of the supervisor and the cloud (device-model.ts,
 * behaviour-world.ts), its journal on a real temp dir, and a ManualClock. Over the whole run of
 * each case:
 *
 * 1. budget: never more reboots than AGENT_MAX_REBOOTS_PER_DAY in any 24 h of wall time (the
 *    reboots the supervisor model carried out for the agent; the device's own are not counted);
 * 2. once: every supervisor call belongs to exactly one intent — the model reads the journal file
 *    at the call, and the entry in `running` with its call in flight, sent at that very moment,
 *    must be on disk (so the intent was also persisted before its effect) — and no intent has two
 *    effects (an intent is its command and token, so a fleet tag and a device tag naming one
 *    token are one intent);
 * 3. settled: a deferred reboot runs within minutes of the budget having room (while an agent
 *    runs); one behaviour never has two reboots open at once (a newer one replaces the one that
 *    waits; `scheduled` counts as open); a withdrawal names something that really went away; and
 *    after a quiet end (online, services fixed, the schedule switched off, at least a day for the
 *    budget to return, daily windows to open and waves to pass, then the window switched off by
 *    its live tag if anything still waits) every intent is in a terminal state the operator can
 *    read — `cancelled` is one; `scheduled` is not (with AGENT_MAX_REBOOTS_PER_DAY 0, a reboot
 *    stays `deferred` saying that reboots are disabled);
 * 4. alive: no unhandled rejection, no uncaught exception, no error and no unexpected warning in
 *    the agent's log, no busy loop (at most MAX_WAKES_PER_HOUR timer wakes in any simulated hour);
 * 5. window: no call of an intent a window holds (by origin and command: an operator's or fleet's
 *    reboot, shutdown, restart, purge, update, stop-service, restart-service; the schedule's
 *    reboot; the watchdog's restart and reboot — not identify, start-service, the watchdog's
 *    restart-service, offline reboot) starts outside a window, unless its value carried `now` (for
 *    a token both tags name, `now` on either). Judged against the windows the calling process
 *    could have known (command-ledger.ts): the value each of its polls served (a live tag applies
 *    from its next successful poll; before its first, the environment's), those served within
 *    ADMIT_SLACK_MS (2 min) before the call and the one in effect just before that; the call
 *    passes when one of them was open at some instant of the ADMIT_SLACK_MS up to the call (the
 *    decision precedes the call by the runner's queue). Window arithmetic is window.ts's own;
 * 6. waits: a `scheduled` intent does not start before the `startAt` it was last given, unless
 *    another process started it, its process learnt another window since (or within
 *    ADMIT_SLACK_MS before it was scheduled), or a device tag names its token (which asks for it
 *    at once) — checked at each journal write; and it is not still `scheduled` DEFER_SLACK_MS
 *    (7 min) after its start while one process has run and polled since before that start (a
 *    round at the start admits it again: it runs, is deferred or gets a new start) — checked
 *    between steps (intent-tracker.ts);
 * 7. abort: a fleet intent whose abort (or its tag's removal) a poll served before its call
 *    started — not yet journalled, or open then — is never called and ends `cancelled` (tokens a
 *    device tag also named are left out: the device's tag still asks for them).
 *
 * The cases run in worker threads (two, or one under the arm64 emulator): the test runner's
 * promise tracking slows promise-heavy code down, and each worker takes a core. Each worker checks
 * its own seed (BEHAVIOURS_PROPERTY_SEED + its index); BEHAVIOURS_PROPERTY_RUNS,
 * BEHAVIOURS_PROPERTY_DAYS (`3-7`), BEHAVIOURS_PROPERTY_WORKERS and BEHAVIOURS_PROPERTY_SHRINK=1
 * (shrink a counterexample; each step replays a case) change the exploration;
 * BEHAVIOURS_PROPERTY_VERBOSE=1 prints each case. To replay a failure: its seed and one worker, or
 * the case itself in BEHAVIOURS_PROPERTY_PLAN (as VERBOSE prints it) with one worker.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { parseAck, TERMINAL, type AckState } from '../../src/agent/acks.js';
import { DAY_MS } from '../../src/agent/budget.js';
import { parseMaintenanceWindow } from '../../src/config/parsers.js';
import { BehaviourWorld, type DiskEntry, type DiskJournal } from '../helpers/behaviour-world.js';
import { CommandLedger, heldByWindow } from '../helpers/command-ledger.js';
import { journalPathIn } from '../helpers/device-model.js';
import { describeEntry, IntentTracker } from '../helpers/intent-tracker.js';
import { mulberry32 } from '../helpers/random.js';

const SEED = Number(process.env.BEHAVIOURS_PROPERTY_SEED ?? 20261202);
/** Under an emulator (the arm64 run) every step is many times slower: fewer cases, same properties. */
const EMULATED = (process.env.FLEET_AGENT_TEST_LAUNCHER ?? '') !== '';
const WORKERS = Math.max(1, Number(process.env.BEHAVIOURS_PROPERTY_WORKERS ?? (EMULATED ? 1 : Math.min(2, availableParallelism()))));
const RUNS = Number(process.env.BEHAVIOURS_PROPERTY_RUNS ?? (EMULATED ? 1 : 8));
/** Days of trouble per case (`min-max`), before the quiet end; a case with a reboot schedule has half as many (see runCase). */
const [MIN_DAYS, MAX_DAYS] = (process.env.BEHAVIOURS_PROPERTY_DAYS ?? (EMULATED ? '2-3' : '3-7')).split('-').map(Number) as [number, number];
const SHRINK = process.env.BEHAVIOURS_PROPERTY_SHRINK === '1';
/** Prints one line per case (its mix, its time) and the case itself. */
const VERBOSE = process.env.BEHAVIOURS_PROPERTY_VERBOSE === '1';
/** One case to run alone (as VERBOSE prints it), e.g. to replay a failure. */
const PLAN = process.env.BEHAVIOURS_PROPERTY_PLAN;

const SEC = 1_000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
/**
 * Timer wakes in any simulated hour: the watchdog's looks (120 at 30 s), the report loop and the
 * schedule's recheck (60 each), polls and decisions (12 each), and what reboots and restarts add;
 * a timer that fires every few seconds is a loop.
 */
const MAX_WAKES_PER_HOUR = 600;
/** The quiet end lasts at least a day (the budget returns), then until nothing is open, at most this long. */
const QUIET_DAYS = 6;

// ---------------------------------------------------------------------------------------------
// What a case is made of

type Service = 'main' | 'worker';
const SERVICES = ['main', 'worker', 'fleet-agent'] as const;

/** What an operator asks on the device's tags (a missing command, in plans of before, is a reboot). */
type OperatorCommand = 'reboot' | 'restart' | 'restart-service' | 'start-service' | 'update' | 'identify';
/** What a fleet tag asks. */
type FleetCommand = 'reboot' | 'restart' | 'restart-service' | 'update';
/** Commands that name a service (here always `main`). */
const NAMES_SERVICE: ReadonlySet<string> = new Set(['restart-service', 'start-service']);

/** Something that happens to the device, at a fraction (`at`, in 1/10000) of the case's span. */
type Event =
  | { kind: 'exit'; at: number; service: Service }
  | { kind: 'loop'; at: number; service: Service; forMin: number }
  | { kind: 'offline'; at: number; forMin: number }
  | { kind: 'operator'; at: number; command?: OperatorCommand; now?: boolean }
  | { kind: 'untag'; at: number }
  /** A fleet tag: a new token, or (`share`) the token the device's tag of that command names; `abort`: aborted that many minutes later (or its tag removed). */
  | { kind: 'fleet'; at: number; command: FleetCommand; now: boolean; rollout: { percent: number; periodMin: number } | null; fromMin: number | null; share: boolean; abort?: { afterMin: number; remove: boolean } | null }
  /** The latest fleet command is aborted (`<token> abort`) or its tag removed. */
  | { kind: 'abort'; at: number; remove: boolean }
  /** The live tag agent.config.maintenance-window is set (`off` included). */
  | { kind: 'window'; at: number; value: string }
  | { kind: 'crash'; at: number; downSec: number; midWork: number | null }
  | { kind: 'power'; at: number };

interface Plan {
  days: number;
  /** Start: days near the changes of daylight saving time in Europe, or not, plus minutes. */
  startDay: string;
  startMin: number;
  maxRebootsPerDay: number;
  offlineRebootH: number | null;
  watchdog: boolean;
  schedule: { cron: string; spreadMin: number; tz: string } | null;
  /** AGENT_MAINTENANCE_WINDOW (null: off); in the schedule's time zone, else UTC. */
  window?: string | null;
  seed: number;
  events: Event[];
}

const at = fc.nat(9_999);
const service = fc.constantFrom<Service>('main', 'worker');
const halfHour = fc.integer({ min: 0, max: 47 });
const hhmm = (half: number): string => `${String(Math.floor(half / 2) % 24).padStart(2, '0')}:${half % 2 === 0 ? '00' : '30'}`;
/** One or two windows of 1–8 h, some crossing midnight, some on a few days of the week only. */
const windowValue: fc.Arbitrary<string> = fc.array(fc.record({
  days: fc.constantFrom('daily', 'daily', 'Mon-Fri', 'Sat,Sun', 'Fri-Mon', 'Wed'),
  start: halfHour,
  hours: fc.integer({ min: 1, max: 8 }),
}).map((w) => `${w.days} ${hhmm(w.start)}-${hhmm(w.start + 2 * w.hours)}`), { minLength: 1, maxLength: 2 }).map((list) => list.join('; '));
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('exit' as const), at, service }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('loop' as const), at, service, forMin: fc.integer({ min: 10, max: 24 * 60 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('offline' as const), at, forMin: fc.integer({ min: 10, max: 20 * 60 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('operator' as const), at, command: fc.constantFrom<OperatorCommand>('reboot', 'reboot', 'reboot', 'restart', 'restart-service', 'start-service', 'update', 'identify'), now: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant('fleet' as const), at,
    command: fc.constantFrom<FleetCommand>('reboot', 'reboot', 'restart', 'restart-service', 'update'),
    now: fc.boolean(),
    rollout: fc.option(fc.record({ percent: fc.constantFrom(10, 25, 50, 100), periodMin: fc.constantFrom(10, 60, 120) }), { freq: 3 }),
    fromMin: fc.option(fc.integer({ min: -120, max: 12 * 60 }), { freq: 2 }),
    share: fc.boolean(),
    abort: fc.option(fc.record({ afterMin: fc.integer({ min: 1, max: 8 * 60 }), remove: fc.boolean() }), { freq: 3, nil: null }),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), at, remove: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('window' as const), at, value: fc.oneof(windowValue, fc.constant('off')) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('untag' as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), at, downSec: fc.integer({ min: 1, max: 600 }), midWork: fc.option(fc.integer({ min: 0, max: 4 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('power' as const), at }) },
);

const plan: fc.Arbitrary<Plan> = fc.noBias(fc.record({
  days: fc.integer({ min: MIN_DAYS, max: MAX_DAYS }),
  startDay: fc.constantFrom('2026-03-26', '2026-06-10', '2026-10-22'),
  startMin: fc.integer({ min: 0, max: 24 * 60 - 1 }),
  maxRebootsPerDay: fc.integer({ min: 0, max: 4 }),
  offlineRebootH: fc.option(fc.integer({ min: 1, max: 12 }), { freq: 2 }),
  watchdog: fc.boolean(),
  schedule: fc.option(fc.record({
    cron: fc.constantFrom('0 3 * * *', '*/30 * * * *', '0 */6 * * *', '30 2 * * *'),
    spreadMin: fc.constantFrom(0, 10, 30, 120),
    tz: fc.constantFrom('UTC', 'Europe/Berlin'),
  }), { freq: 2 }),
  window: fc.option(windowValue, { freq: 2, nil: null }),
  seed: fc.integer(),
  events: fc.array(event, { minLength: 3, maxLength: 24, size: 'max' }).map((list) => [...list].sort((a, b) => a.at - b.at)),
}));

// ---------------------------------------------------------------------------------------------
// One case

/** Figures over the cases of one worker. */
interface Totals {
  cases: number;
  days: number;
  ms: number;
  reboots: number;
  scheduleRuns: number;
  offlineReboots: number;
  watchdogCalls: number;
  operatorTokens: number;
  deferred: number;
  deferredRan: number;
  superseded: number;
  withdrawn: number;
  mostOpenReboots: number;
  crashes: number;
  powerCycles: number;
  recreated: number;
  blocked: number;
  fleetTokens: number;
  aborts: number;
  abortsWaiting: number;
  windowChanges: number;
  scheduled: number;
  scheduledRan: number;
  cancelled: number;
  heldCalls: number;
}

const totals: Totals = {
  cases: 0, days: 0, ms: 0, reboots: 0, scheduleRuns: 0, offlineReboots: 0, watchdogCalls: 0, operatorTokens: 0, deferred: 0, deferredRan: 0,
  superseded: 0, withdrawn: 0, mostOpenReboots: 0, crashes: 0, powerCycles: 0, recreated: 0, blocked: 0,
  fleetTokens: 0, aborts: 0, abortsWaiting: 0, windowChanges: 0, scheduled: 0, scheduledRan: 0, cancelled: 0, heldCalls: 0,
};

const processErrors: string[] = [];
const iso = (wall: number): string => new Date(wall).toISOString();

/** The commands of one case: tokens handed out, what each tag names, and the ledger of windows and aborts. */
interface Commands {
  tokens: number;
  fleetTokens: number;
  aborts: number;
  windowChanges: number;
  /** Command → the token its device tag names now. */
  device: Map<string, string>;
  /** Every token a fleet reboot tag named (they share the reboot ack with the operator's). */
  fleetReboots: Set<string>;
  /** The fleet command set last (what an abort event aborts). */
  lastFleet: { command: FleetCommand; token: string } | null;
  ledger: CommandLedger;
}

const utcIso = (wall: number): string => new Date(wall).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Aborts a fleet command (or removes its tag), unless its tag has moved on to another token. */
function abortFleet(w: BehaviourWorld, t: IntentTracker, n: Commands, f: { command: FleetCommand; token: string }, remove: boolean): void {
  const tag = `agent.${f.command}`;
  const value = w.cloud.fleetTags.get(tag);
  if (value === undefined || value.split(' ')[0] !== f.token || value.endsWith(' abort')) return;
  if (n.lastFleet?.command === f.command && n.lastFleet.token === f.token) n.lastFleet = null;
  n.aborts += 1;
  n.ledger.fleetAborted(f.command, f.token, w.clock.wall());
  if (f.command === 'reboot') t.fleetToken = null;
  if (remove) w.cloud.fleetTags.delete(tag);
  else w.cloud.fleetTags.set(tag, `${f.token} abort`);
}

/** Applies one planned event to the world. */
async function happen(w: BehaviourWorld, t: IntentTracker, e: Event, outage: { depth: number }, n: Commands): Promise<void> {
  switch (e.kind) {
    case 'exit':
      w.model.fail(e.service, 'exit');
      return;
    case 'loop':
      w.model.fail(e.service, 'loop', w.clock.wall() + e.forMin * MIN);
      return;
    case 'offline':
      outage.depth += 1;
      w.cloud.online = false;
      w.after(e.forMin * MIN, () => {
        outage.depth -= 1;
        if (outage.depth === 0) w.cloud.online = true;
      }, true);
      return;
    case 'operator': {
      const command = e.command ?? 'reboot';
      const token = `op-${++n.tokens}`;
      if (command === 'reboot') {
        t.token = token;
        t.untagged = false;
      }
      n.device.set(command, token);
      n.ledger.byDevice.add(`${command} ${token}`);
      if (e.now === true) n.ledger.now.add(`${command} ${token}`);
      w.cloud.tags.set(`agent.${command}`, [token, NAMES_SERVICE.has(command) ? 'main' : '', e.now === true ? 'now' : ''].filter(Boolean).join(' '));
      return;
    }
    case 'untag':
      if (t.token === null) return;
      t.token = null;
      t.untagged = true;
      n.device.delete('reboot');
      w.cloud.tags.delete('agent.reboot');
      return;
    case 'fleet': {
      const token = (e.share ? n.device.get(e.command) : undefined) ?? `F${++n.fleetTokens}`;
      if (e.now) n.ledger.now.add(`${e.command} ${token}`);
      n.ledger.fleetSet(e.command, token);
      n.lastFleet = { command: e.command, token };
      if (e.command === 'reboot') {
        t.fleetToken = token;
        n.fleetReboots.add(token);
      }
      const words = [
        token, NAMES_SERVICE.has(e.command) ? 'main' : '', e.now ? 'now' : '',
        e.rollout ? `rollout=${e.rollout.percent}%/${e.rollout.periodMin}m` : '',
        e.fromMin !== null ? `from=${utcIso(w.clock.wall() + e.fromMin * MIN)}` : '',
      ];
      w.cloud.fleetTags.set(`agent.${e.command}`, words.filter(Boolean).join(' '));
      const { abort } = e;
      if (abort) w.after(abort.afterMin * MIN, () => abortFleet(w, t, n, { command: e.command, token }, abort.remove), true);
      return;
    }
    case 'abort':
      if (n.lastFleet !== null) abortFleet(w, t, n, n.lastFleet, e.remove);
      return;
    case 'window':
      n.windowChanges += 1;
      w.cloud.tags.set('agent.config.maintenance-window', e.value);
      return;
    case 'crash':
      if (e.midWork === null) await w.crash(e.downSec * SEC);
      else w.crashMidWork(w.clock.now(), e.midWork, e.downSec * SEC);
      return;
    case 'power':
      await w.powerCycle();
      return;
  }
}

/** Moves the world on by `ms` in steps of 30 s to 10 min, checking between steps. */
async function run(w: BehaviourWorld, t: IntentTracker, ms: number, random: () => number): Promise<void> {
  const end = w.clock.now() + ms;
  while (w.clock.now() < end) {
    await w.advance(Math.min(end - w.clock.now(), 30 * SEC + Math.floor(random() * 9.5 * MIN)));
    t.tick();
  }
}

function readJournal(w: BehaviourWorld): DiskJournal {
  return JSON.parse(readFileSync(journalPathIn(w.dir), 'utf8')) as DiskJournal;
}

/** Not in a state the operator can take as the end (with a budget of 0, deferred says reboots are disabled). */
const unsettled = (max: number) => (e: DiskEntry): boolean =>
  !TERMINAL.has(e.state as AckState) && !(max === 0 && e.state === 'deferred' && /reboots are disabled/.test(e.detail));

/** One case; throws the violations found. */
async function runCase(p: Plan): Promise<void> {
  const began = performance.now();
  const random = mulberry32(p.seed);
  const errorsBefore = processErrors.length;
  const w = await BehaviourWorld.create({
    startWall: Date.parse(`${p.startDay}T00:00:00Z`) + p.startMin * MIN,
    services: SERVICES,
    random,
    replies: () => random() < 0.5,
    realLimitMs: (EMULATED ? 60 : 10) * 60_000,
    config: {
      pollIntervalMs: 5 * MIN,
      maxRebootsPerDay: p.maxRebootsPerDay,
      offlineRebootMs: p.offlineRebootH === null ? null : p.offlineRebootH * HOUR,
      watchdog: p.watchdog ? 'all' : null,
      // Each look is a decision round, and with a schedule on each round computes its slots
      // (croner with a time zone: a few ms each here), so then the watchdog looks every 5 min;
      // switched off, it does nothing at its looks and their interval does not matter.
      watchdogIntervalMs: p.watchdog && !p.schedule ? 30 * SEC : 5 * MIN,
      rebootSchedule: p.schedule?.cron ?? null,
      scheduleSpreadMs: (p.schedule?.spreadMin ?? 0) * MIN,
      timeZone: p.schedule?.tz ?? 'UTC',
      maintenanceWindow: parseMaintenanceWindow(p.window ?? 'off'),
    },
  });
  const t = new IntentTracker(w, p.maxRebootsPerDay);
  w.onJournal = (journal) => t.written(journal);
  const v = t.violations;
  const ledger = new CommandLedger(p.window ?? 'off', w.config.timeZone, w.config.tagPrefix, () => w.disk);
  w.cloud.onServed = (served) => ledger.served(served);
  t.byDevice = ledger.byDevice;
  t.windowChangedAt = (proc) => ledger.changedAt(proc);
  const n: Commands = { tokens: 0, fleetTokens: 0, aborts: 0, windowChanges: 0, device: new Map(), fleetReboots: new Set(), lastFleet: null, ledger };
  try {
    // A schedule costs its slot computation at every decision round and every minute (croner
    // with a time zone: most of a case's time), so those cases trouble the device half as long.
    const span = (p.schedule ? Math.ceil(p.days / 2) : p.days) * DAY_MS;
    const outage = { depth: 0 };
    for (const e of p.events) w.at(Math.floor((e.at / 10_000) * span), () => happen(w, t, e, outage, n), true);
    await run(w, t, span, random);

    // The quiet end: online, every service fixed, the schedule switched off by a live tag; no more
    // failures, crashes or commands. At least a day (the budget returns, daily windows open, waves
    // pass); then, if something still waits, the window is switched off by a live tag (a weekly
    // window would take days to open); then until nothing is open.
    w.dropPlanned();
    w.cloud.online = true;
    w.model.healAll();
    if (p.schedule) {
      t.scheduleOff = true;
      w.cloud.tags.set('agent.config.reboot-schedule', 'off');
    }
    await run(w, t, DAY_MS, random);
    if (readJournal(w).entries.some(unsettled(p.maxRebootsPerDay))) {
      n.windowChanges += 1;
      w.cloud.tags.set('agent.config.maintenance-window', 'off');
    }
    for (let quarter = 4; quarter < QUIET_DAYS * 4 && readJournal(w).entries.some(unsettled(p.maxRebootsPerDay)); quarter++) await run(w, t, DAY_MS / 4, random);

    // 1. budget
    const reboots = w.model.effects.filter((e) => e.command === 'reboot');
    for (const r of reboots) {
      const window = reboots.filter((o) => o.wall > r.wall - DAY_MS && o.wall <= r.wall);
      if (window.length > p.maxRebootsPerDay) {
        v.push(`[budget] ${window.length} reboots in the 24 h up to ${iso(r.wall)} (at most ${p.maxRebootsPerDay}): ${window.map((o) => `${o.key ?? '?'} at ${iso(o.wall)}`).join(', ')}`);
        break;
      }
    }
    // 2. once
    for (const problem of w.model.problems) v.push(`[once] ${problem}`);
    // 5. window (6. waits is checked at each journal write)
    for (const e of w.model.effects) {
      const outside = ledger.outsideWindow(e);
      if (outside !== null) v.push(`[window] ${outside}`);
    }
    // 7. abort
    for (const problem of ledger.abortProblems(w.model.effects, readJournal(w).entries)) v.push(`[abort] ${problem}`);
    // 3. settled: every intent ended, every rejection says why, the operator's ack shows where the last token ended
    const journal = readJournal(w);
    for (const e of journal.entries.filter(unsettled(p.maxRebootsPerDay))) v.push(`[settled] still open at the end: ${describeEntry(e)}`);
    for (const e of journal.entries) if (e.state === 'rejected' && e.detail.trim() === '') v.push(`[settled] rejected without a reason: ${describeEntry(e)}`);
    if (t.token !== null) {
      const value = w.cloud.tags.get('agent.reboot.ack') ?? '';
      const ack = parseAck(value);
      const ends = (state: AckState): boolean => TERMINAL.has(state) || (p.maxRebootsPerDay === 0 && state === 'deferred');
      // A fleet reboot shares the ack: it may show that one, once the operator's token has ended.
      const mine = journal.entries.find((e) => e.command === 'reboot' && e.token === t.token);
      const fleetLater = ack !== undefined && n.fleetReboots.has(ack.token) && ends(ack.state) && mine !== undefined && ends(mine.state as AckState);
      const ended = ack !== undefined && ((ack.token === t.token && ends(ack.state)) || fleetLater);
      if (!ended) v.push(`[settled] the operator's ack does not show where ${t.token} ended: ${value || 'no ack'}`);
    }
    // 4. alive
    for (const line of w.logProblems.slice(0, 5)) v.push(`[alive] logged: ${line}`);
    if (w.busiestHour.wakes > MAX_WAKES_PER_HOUR) v.push(`[alive] the agent's timers woke ${w.busiestHour.wakes} times in the hour from ${iso(w.busiestHour.wall)} (at most ${MAX_WAKES_PER_HOUR}: a loop)`);
    for (const err of processErrors.slice(errorsBefore)) v.push(`[alive] ${err}`);

    totals.cases += 1;
    totals.days += w.clock.now() / DAY_MS;
    totals.reboots += reboots.length;
    totals.scheduleRuns += reboots.filter((e) => e.origin === 'reboot-schedule').length;
    totals.offlineReboots += reboots.filter((e) => e.origin === 'offline-reboot').length;
    totals.watchdogCalls += w.model.effects.filter((e) => e.origin === 'watchdog').length;
    totals.operatorTokens += n.tokens;
    totals.deferred += t.everDeferred.size;
    totals.deferredRan += [...t.everDeferred].filter((k) => w.model.effects.some((e) => `${e.command} ${e.key}` === k)).length;
    totals.superseded += t.superseded;
    totals.withdrawn += t.withdrawn;
    totals.mostOpenReboots = Math.max(totals.mostOpenReboots, t.mostOpenReboots);
    totals.crashes += w.counts.crashes;
    totals.powerCycles += w.counts.powerCycles;
    totals.recreated += w.counts.recreated;
    totals.blocked += w.counts.blocked;
    totals.fleetTokens += n.fleetTokens;
    totals.aborts += n.aborts;
    totals.abortsWaiting += ledger.abortedWaiting();
    totals.windowChanges += n.windowChanges;
    totals.scheduled += t.everScheduled.size;
    totals.scheduledRan += t.scheduledRan;
    totals.cancelled += journal.entries.filter((e) => e.state === 'cancelled').length;
    totals.heldCalls += p.window ? w.model.effects.filter((e) => e.key !== null && heldByWindow(e.origin, e.command) && !ledger.now.has(`${e.command} ${e.key}`)).length : 0;
  } catch (err) {
    v.push(`[alive] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await w.close();
    totals.ms += performance.now() - began;
  }
  if (VERBOSE) {
    const kinds = p.events.map((e) => e.kind).join(',');
    console.log(`# case ${((performance.now() - began) / 1000).toFixed(1)} s: ${(w.clock.now() / DAY_MS).toFixed(1)} days, max ${p.maxRebootsPerDay}, schedule ${p.schedule ? `${p.schedule.cron} ${p.schedule.tz} +${p.schedule.spreadMin}m` : 'off'}, watchdog ${p.watchdog ? 'on' : 'off'}, offline reboot ${p.offlineRebootH ?? 'off'} h, window ${p.window ?? 'off'}; ${kinds}; ${w.model.effects.length} effects, busiest hour ${w.busiestHour.wakes} wakes, ${v.length} violations`);
    console.log(`#   BEHAVIOURS_PROPERTY_PLAN='${JSON.stringify(p)}'`);
  }
  if (v.length > 0) throw new Error(v.slice(0, 12).join('\n'));
}

// ---------------------------------------------------------------------------------------------
// Workers

/** What a worker is asked to check, and what it answers. */
interface Job {
  seed: number;
  runs: number;
}
interface Outcome {
  seed: number;
  failure: string | null;
  totals: Totals;
}

/** Checks the property for one seed (in a worker thread). */
async function check(job: Job): Promise<Outcome> {
  const onError = (err: unknown): void => void processErrors.push(err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err));
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  try {
    const details = await fc.check(fc.asyncProperty(plan, runCase), {
      seed: job.seed, numRuns: PLAN === undefined ? job.runs : 1, endOnFailure: !SHRINK, verbose: 1, includeErrorInReport: true,
      ...(PLAN !== undefined ? { examples: [[JSON.parse(PLAN) as Plan]] } : {}),
    });
    return { seed: job.seed, failure: details.failed ? (fc.defaultReportMessage(details) ?? 'failed') : null, totals };
  } finally {
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  }
}

/** Runs a job in a worker thread running this very file. */
function inWorker(job: Job): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { behavioursProperty: job } });
    worker.once('message', (outcome: Outcome) => resolve(outcome));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the worker for seed ${job.seed} exited with ${code} before answering`)));
  });
}

const job = (workerData as { behavioursProperty?: Job } | null)?.behavioursProperty;
if (!isMainThread && job !== undefined) {
  parentPort?.postMessage(await check(job));
} else {
  describe('behaviours together over simulated days (ManualClock, in-memory device, fast-check)', () => {
    it(`keep the reboot budget and the windows, act once per intent, honour starts and aborts, settle every intent and stay alive (seeds ${SEED}…, ${RUNS} runs, ${WORKERS} workers)`, async (t) => {
      const began = performance.now();
      const jobs = Array.from({ length: WORKERS }, (_, i) => ({ seed: SEED + i, runs: Math.floor(RUNS / WORKERS) + (i < RUNS % WORKERS ? 1 : 0) }));
      const outcomes = await Promise.all(jobs.filter((j) => j.runs > 0).map(inWorker));
      const sum = (key: keyof Totals): number => outcomes.reduce((s, o) => s + o.totals[key], 0);
      t.diagnostic(`${sum('cases')} cases, ${sum('days').toFixed(1)} simulated days, ${(sum('ms') / 1000).toFixed(1)} s of case time, ${((performance.now() - began) / 1000).toFixed(1)} s in all`);
      t.diagnostic(`reboots ${sum('reboots')} (schedule ${sum('scheduleRuns')}, offline ${sum('offlineReboots')}); watchdog calls ${sum('watchdogCalls')}; operator tokens ${sum('operatorTokens')}`);
      t.diagnostic(`deferred ${sum('deferred')} (ran later ${sum('deferredRan')}); superseded ${sum('superseded')}; withdrawn ${sum('withdrawn')}; most open reboots of one behaviour ${Math.max(...outcomes.map((o) => o.totals.mostOpenReboots))}`);
      t.diagnostic(`fleet tokens ${sum('fleetTokens')}, aborts ${sum('aborts')} (served while it waited ${sum('abortsWaiting')}), window changes ${sum('windowChanges')}; scheduled ${sum('scheduled')} (started later ${sum('scheduledRan')}); cancelled ${sum('cancelled')}; calls a window held ${sum('heldCalls')}`);
      t.diagnostic(`agent crashes ${sum('crashes')}, device reboots ${sum('powerCycles')}, agent containers recreated ${sum('recreated')}; calls, writes and sleeps of dead agents blocked ${sum('blocked')}`);
      for (const o of outcomes) assert.equal(o.failure, null, `seed ${o.seed} (replay: BEHAVIOURS_PROPERTY_SEED=${o.seed} BEHAVIOURS_PROPERTY_WORKERS=1):\n${o.failure ?? ''}`);
      if (sum('cases') >= 6) assert.ok(sum('reboots') > 0 && sum('deferred') > 0 && sum('crashes') > 0, 'the mix exercised reboots, deferrals and crashes');
      if (sum('cases') >= 6) assert.ok(sum('scheduled') > 0 && sum('scheduledRan') > 0 && sum('fleetTokens') > 0, 'the mix exercised windows, waves and fleet commands');
    });
  });
}
