/**
 * Follows every state of every intent as the agent persisted it (each journal write that reached
 * the disk), and checks what must hold at each moment: a withdrawal names something that went
 * away; one behaviour never has two reboots open at once (a newer one replaces the one that
 * waits, so they do not pile up); a deferred reboot does not wait while the budget has room; a
 * `scheduled` intent does not start before its `startAt` (unless another process started it, or
 * the process learnt another window meanwhile, or a device tag names the same token).
 */
import { DAY_MS } from '../../src/agent/budget.js';
import type { BehaviourWorld, DiskEntry, DiskJournal } from './behaviour-world.js';
import { ADMIT_SLACK_MS } from './command-ledger.js';

/** How late a deferred reboot may run after the budget has room: the decider's longest idle sleep (5 min), a poll's jitter, a step. */
export const DEFER_SLACK_MS = 7 * 60_000;

const keyOf = (e: Pick<DiskEntry, 'command' | 'token'>): string => `${e.command} ${e.token}`;

/** An entry in one line, for messages. */
export const describeEntry = (e: DiskEntry): string => `${e.command} ${e.token} (${e.origin ?? 'operator'}) ${e.state}${e.detail ? `: ${e.detail}` : ''}`;

const iso = (wall: number): string => new Date(wall).toISOString();

const POWER = new Set(['reboot', 'shutdown']);
const OPEN = new Set(['accepted', 'deferred', 'scheduled', 'running']);

/** The history of the intents, and the violations found in it. */
export class IntentTracker {
  readonly violations: string[] = [];
  /** Intents (`command token`) that were ever deferred. */
  readonly everDeferred = new Set<string>();
  /** How many intents were withdrawn or superseded. */
  withdrawn = 0;
  superseded = 0;
  /** The most reboots one behaviour had open (accepted, deferred, scheduled, running) at once. */
  mostOpenReboots = 0;
  /** The operator removed the reboot tag since it last named a token / switched the schedule off. */
  untagged = false;
  scheduleOff = false;
  /** The operator's token on the reboot tag now (null when there is none). */
  token: string | null = null;
  /** The token the fleet's reboot tag names now (null when it is removed or aborted). */
  fleetToken: string | null = null;
  /** When a process last learnt a new maintenance window (a `scheduled` start computed before may move). */
  windowChangedAt: (proc: number) => number = () => -Infinity;
  /** Intents (`command token`) a device tag named: such a token may start before its fleet wave. */
  byDevice: ReadonlySet<string> = new Set();
  /** How many intents were ever `scheduled`, and how many of those started later. */
  readonly everScheduled = new Set<string>();
  scheduledRan = 0;
  private readonly states = new Map<string, DiskEntry>();
  /** The start each `scheduled` intent was last given, when, and by which process. */
  private readonly starts = new Map<string, { startAt: number; wall: number; proc: number }>();
  private roomSince: number | null = null;
  /** The agent process now, and since when it has polled (wall). */
  private proc: { id: number; since: number } | undefined;
  /** Intents already reported as overdue. */
  private readonly late = new Set<string>();

  constructor(private readonly world: BehaviourWorld, private readonly max: number) {}

  /** One journal write reached the disk. */
  written(journal: DiskJournal): void {
    const wall = this.world.clock.wall();
    const open = new Map<string, number>();
    for (const e of journal.entries) {
      const origin = e.origin ?? 'operator';
      if (POWER.has(e.command) && OPEN.has(e.state)) open.set(origin, (open.get(origin) ?? 0) + 1);
      const before = this.states.get(keyOf(e));
      this.states.set(keyOf(e), e);
      if (before?.state === e.state && before.detail === e.detail && before.startAt === e.startAt) continue;
      if (e.state === 'deferred') this.everDeferred.add(keyOf(e));
      if (e.state === 'scheduled' && e.startAt !== undefined) {
        this.everScheduled.add(keyOf(e));
        this.starts.set(keyOf(e), { startAt: e.startAt, wall, proc: this.world.proc?.id ?? -1 });
      }
      const start = this.starts.get(keyOf(e));
      if (e.state === 'running' && start !== undefined) {
        this.starts.delete(keyOf(e));
        this.scheduledRan += 1;
        // Judged when the same process scheduled and started it, and learnt no new window since
        // (nor within ADMIT_SLACK_MS before: the poll may land before the schedule reaches the disk).
        const sameWindow = start.proc === this.world.proc?.id && this.windowChangedAt(start.proc) < start.wall - ADMIT_SLACK_MS;
        if (wall < start.startAt && sameWindow && !this.byDevice.has(keyOf(e))) {
          this.violations.push(`${iso(wall)}: [waits] started before its scheduled start ${iso(start.startAt)}: ${describeEntry(e)}`);
        }
      }
      if (e.state === 'rejected' && e.detail.startsWith('superseded')) this.superseded += 1;
      if (e.state === 'rejected' && e.detail.startsWith('withdrawn')) {
        this.withdrawn += 1;
        const gone = origin === 'operator' ? this.untagged : origin === 'reboot-schedule' ? this.scheduleOff : false;
        if (!gone) this.violations.push(`${iso(wall)}: [settled] withdrew an intent its behaviour still wants: ${describeEntry(e)} (was ${before?.state ?? 'new'})`);
      }
    }
    for (const [origin, count] of open) {
      this.mostOpenReboots = Math.max(this.mostOpenReboots, count);
      if (count > 1) {
        const list = journal.entries.filter((e) => (e.origin ?? 'operator') === origin && POWER.has(e.command) && OPEN.has(e.state)).map(describeEntry).join('; ');
        this.violations.push(`${iso(wall)}: [settled] ${count} reboots of ${origin} open at once (a newer one replaces the one that waits): ${list}`);
      }
    }
  }

  /** Room in the reboot budget now, as the agent's own stamps and pending reboots leave it. */
  private room(journal: DiskJournal): number {
    const wall = this.world.clock.wall();
    const used = journal.reboots.filter((t) => t > wall - DAY_MS).length;
    const pending = journal.entries.filter((e) => POWER.has(e.command) && (e.state === 'accepted' || (e.state === 'running' && !e.sending))).length;
    return this.max - used - pending;
  }

  /** A deferred reboot the agent should run as soon as the budget has room. */
  private due(e: DiskEntry): boolean {
    if (e.state !== 'deferred') return false;
    const origin = e.origin ?? 'operator';
    // The operator's command waits until the process has read the tags, and runs only while the
    // tag still names it; the schedule needs the device's uuid, which comes with the tags. The
    // others (set in the environment here) resume at once.
    const polled = this.world.proc !== undefined && this.world.cloud.polled.has(this.world.proc.id);
    if (origin === 'operator') return polled && this.token === e.token;
    if (origin === 'fleet') return polled && this.fleetToken === e.token;
    if (origin === 'reboot-schedule') return polled && !this.scheduleOff;
    return true;
  }

  /**
   * Between two steps: no `scheduled` intent is still `scheduled` DEFER_SLACK_MS after its start
   * while one process has run (and polled) all that time — at its start a round admits it again
   * (it runs, is deferred, or gets a new start).
   */
  private overdue(): void {
    const { proc, clock } = this.world;
    const wall = clock.wall();
    if (proc === undefined || this.world.agent === undefined) return;
    if (this.proc?.id !== proc.id) this.proc = { id: proc.id, since: wall };
    if (!this.world.cloud.polled.has(proc.id)) this.proc.since = wall;
    for (const e of this.world.disk.entries) {
      if (e.state !== 'scheduled' || e.startAt === undefined || this.late.has(keyOf(e))) continue;
      if (wall - e.startAt > DEFER_SLACK_MS && wall - this.proc.since > DEFER_SLACK_MS + (wall - e.startAt)) {
        this.late.add(keyOf(e));
        this.violations.push(`${iso(wall)}: [waits] still scheduled ${Math.round((wall - e.startAt) / 60_000)} min after its start ${iso(e.startAt)}: ${describeEntry(e)}`);
      }
    }
  }

  /** Between two steps: no deferred reboot waits longer than DEFER_SLACK_MS while the budget has room. */
  tick(): void {
    this.overdue();
    const journal = this.world.disk;
    const waiting = this.world.agent !== undefined && journal.entries.some((e) => this.due(e)) && this.room(journal) > 0;
    const now = this.world.clock.now();
    if (!waiting) {
      this.roomSince = null;
      return;
    }
    this.roomSince ??= now;
    if (now - this.roomSince > DEFER_SLACK_MS) {
      const list = journal.entries.filter((e) => this.due(e)).map(describeEntry).join('; ');
      this.violations.push(`${iso(this.world.clock.wall())}: [settled] deferred for ${Math.round((now - this.roomSince) / 60_000)} min while the budget had room for ${this.room(journal)}: ${list}`);
      this.roomSince = null;
    }
  }
}
