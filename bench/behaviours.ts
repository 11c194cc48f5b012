/**
 * What one decision round's pure part costs (every behaviour's decide, then the admission step),
 * as the agent runs it after each poll, at each watchdog look (every 30 s by default) and on its
 * own timer: with the defaults, and with every behaviour on (a schedule in UTC and in
 * Europe/Berlin, the watchdog, the offline reboot) over a journal of 200 entries. CPU time per
 * round, from process.cpuUsage. Prints figures; not a test.
 */
import { admit, type Proposed } from '../src/agent/admission.js';
import { BEHAVIOURS } from '../src/agent/behaviours/index.js';
import type { JournalEntry } from '../src/agent/journal.js';
import { makeSnapshot, type Snapshot } from '../src/agent/snapshot.js';
import { defaultConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';

const T0 = Date.UTC(2026, 2, 1);
const ROUNDS = 2_000;

function journal(): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (let i = 0; i < 200; i++) {
    out.push({ command: i % 2 ? 'reboot' : 'identify', token: `t${i}`, state: 'done', detail: '', bootId: 'b', attempts: 1, sending: false, force: false, services: [], createdAt: T0, updatedAt: T0 });
  }
  return out;
}

function snapshot(config: Config, wall: number, entries: JournalEntry[]): Snapshot {
  return makeSnapshot({
    now: wall - T0, wall, config, deviceTags: { 'agent.reboot': 't1' }, fleetTags: {}, tagsSeen: true, services: ['main', 'fleet-agent'], serviceImages: null,
    looks: { main: { status: 'Running', downLooks: 0, checkFailures: 0, healthySince: 0 } }, updating: false, journal: entries, inProgress: new Set(),
    bootId: 'b', budget: { max: 3, used: 0, releaseAtWall: null }, uuid: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', ownService: 'fleet-agent',
    startedAt: 0, lastContactAt: 0, lastContactWall: T0, state: { 'reboot-schedule': { pattern: '0 3 * * *', zone: config.timeZone, since: T0 } },
  });
}

function measure(label: string, config: Config): void {
  const entries = journal();
  const start = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) {
    // A round every 30 s of simulated time, as the watchdog's looks ask for them.
    const s = snapshot(config, T0 + i * 30_000, entries);
    const proposed: Proposed[] = BEHAVIOURS.filter((b) => b.enabled(s)).map((b) => ({ behaviour: b, proposals: b.decide(s).proposals }));
    admit(s, proposed);
    for (const b of BEHAVIOURS) if (b.enabled(s)) b.nextWakeWall?.(s);
  }
  const used = process.cpuUsage(start);
  console.log(`| ${label} | ${((used.user + used.system) / 1000 / ROUNDS).toFixed(3)} ms |`);
}

console.log(`one decision round's pure part (snapshot, every enabled decide and next wake, admission), ${ROUNDS} rounds 30 s apart, Node ${process.versions.node}`);
console.log('| configuration | CPU per round |');
console.log('|---|---|');
measure('defaults (operator commands only)', defaultConfig());
measure('every behaviour on, TZ=UTC', { ...defaultConfig(), rebootSchedule: '0 3 * * *', watchdog: 'all', offlineRebootMs: 6 * 3_600_000 });
measure('every behaviour on, TZ=Europe/Berlin', { ...defaultConfig(), rebootSchedule: '0 3 * * *', watchdog: 'all', offlineRebootMs: 6 * 3_600_000, timeZone: 'Europe/Berlin' });
