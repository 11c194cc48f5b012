/**
 * What the agent could have known of the maintenance window and of the fleet's aborts, for the
 * behaviours property test: every value a poll served, to which agent process and when (a live
 * tag applies from the agent's next poll, never before), and the judgement of each supervisor
 * call against the windows in effect. Window arithmetic is window.ts's own (its grammar has its
 * own tests); what is checked here is that the agent holds its work to it.
 */
import { earliestStart, parseWindows, type Window } from '../../src/agent/window.js';
import type { DiskEntry } from './behaviour-world.js';
import type { Effect, Served } from './device-model.js';

/** How long before its call an intent may have been admitted (the decide round, the runner's queue). */
export const ADMIT_SLACK_MS = 2 * 60_000;

/** An operator's (device or fleet tag) commands that a window holds. */
const HELD_BY_OPERATOR: ReadonlySet<string> = new Set(['reboot', 'shutdown', 'restart', 'purge', 'update', 'stop-service', 'restart-service']);

/** Whether a maintenance window holds a command of this origin (PRODUCT §3). */
export function heldByWindow(origin: string, command: string): boolean {
  switch (origin) {
    case 'operator':
    case 'fleet':
      return HELD_BY_OPERATOR.has(command);
    case 'reboot-schedule':
      return true;
    case 'watchdog':
      return command === 'restart' || command === 'reboot';
    default:
      return false;
  }
}

/** A fleet command the test set, and what became of its abort. */
interface FleetIntent {
  command: string;
  token: string;
  /** Wall time the abort (`<token> abort`, or the tag removed) was set; null while it stands. */
  abortAt: number | null;
  /** Wall time of the first poll that served the abort; null until then. */
  seenAt: number | null;
  /** The journal entry as on disk when the abort was served (null: none yet). */
  entryAtSeen: DiskEntry | null;
}

const keyOf = (command: string, token: string): string => `${command} ${token}`;
const iso = (wall: number): string => new Date(wall).toISOString();

/** The ledger of one case. */
export class CommandLedger {
  /** Intents (`command token`) whose value carried `now` (on either tag, for a token both carry). */
  readonly now = new Set<string>();
  /** Intents a device tag named at some point (a fleet abort does not close what a device tag still wants). */
  readonly byDevice = new Set<string>();
  private readonly windowTag: string;
  private readonly polls = new Map<number, { wall: number; window: string }[]>();
  private readonly changed = new Map<number, number>();
  private readonly fleet: FleetIntent[] = [];
  private readonly parsed = new Map<string, readonly Window[] | null>();

  constructor(private readonly base: string, private readonly timeZone: string, prefix: string, private readonly disk: () => { entries: DiskEntry[] }) {
    this.windowTag = `${prefix}config.maintenance-window`;
  }

  /** A poll served these tags to a process. */
  served(s: Served): void {
    const tag = s.deviceTags[this.windowTag];
    const list = this.polls.get(s.proc) ?? [];
    const window = tag !== undefined && tag.trim() !== '' ? tag : this.base;
    if (window !== (list.at(-1)?.window ?? this.base)) this.changed.set(s.proc, s.wall);
    list.push({ wall: s.wall, window });
    this.polls.set(s.proc, list);
    for (const f of this.fleet) {
      if (f.abortAt === null || f.seenAt !== null) continue;
      f.seenAt = s.wall;
      f.entryAtSeen = this.disk().entries.find((e) => e.command === f.command && e.token === f.token) ?? null;
    }
  }

  /** The test set a fleet command tag. */
  fleetSet(command: string, token: string): void {
    this.fleet.push({ command, token, abortAt: null, seenAt: null, entryAtSeen: null });
  }

  /** The test aborted a fleet command (or removed its tag) at `wall`. */
  fleetAborted(command: string, token: string, wall: number): void {
    for (const f of this.fleet) if (f.command === command && f.token === token && f.abortAt === null) f.abortAt = wall;
  }

  /** The windows a value stands for (null: none, work may start at any time). */
  private windows(value: string): readonly Window[] | null {
    if (!this.parsed.has(value)) this.parsed.set(value, parseWindows(value));
    return this.parsed.get(value) ?? null;
  }

  /**
   * The window values the process could have judged by for a call at `wall`: those its polls served
   * within ADMIT_SLACK_MS before, and the one in effect just before that (its latest poll's, or the
   * environment's before its first poll).
   */
  private known(proc: number, wall: number): string[] {
    const list = (this.polls.get(proc) ?? []).filter((p) => p.wall <= wall);
    const recent = list.filter((p) => p.wall >= wall - ADMIT_SLACK_MS).map((p) => p.window);
    const before = list.filter((p) => p.wall < wall - ADMIT_SLACK_MS).at(-1)?.window ?? this.base;
    return [...new Set([before, ...recent])];
  }

  /** When a poll last served the process another window than it judged by before (-Infinity: never). */
  changedAt(proc: number): number {
    return this.changed.get(proc) ?? -Infinity;
  }

  /** Why a call started outside every window the agent could have known, or null when it did not. */
  outsideWindow(e: Effect): string | null {
    if (e.key === null || !heldByWindow(e.origin, e.command) || this.now.has(keyOf(e.command, e.key))) return null;
    const values = this.known(e.proc, e.wall);
    const open = values.some((v) => earliestStart(this.windows(v), this.timeZone, e.wall - ADMIT_SLACK_MS) <= e.wall);
    return open ? null : `${iso(e.wall)}: ${e.command}${e.target ? ` ${e.target}` : ''} for ${e.key} (${e.origin}) started outside the window (${values.join(' | ')}, ${this.timeZone})`;
  }

  /** Fleet intents (no device tag naming their token) whose abort a poll served before they started. */
  private abortedBeforeStart(): (FleetIntent & { seenAt: number })[] {
    return this.fleet.filter((f): f is FleetIntent & { seenAt: number } => {
      if (f.seenAt === null || this.byDevice.has(keyOf(f.command, f.token))) return false;
      const e = f.entryAtSeen;
      return e === null || e.state === 'accepted' || e.state === 'deferred' || e.state === 'scheduled' || (e.state === 'running' && !e.sending);
    });
  }

  /** How many aborts a poll served while their intent had not started. */
  abortedWaiting(): number {
    return this.abortedBeforeStart().length;
  }

  /** Fleet intents whose abort was seen before their call started but that ran, or did not end `cancelled`. */
  abortProblems(effects: readonly Effect[], final: readonly DiskEntry[]): string[] {
    const out: string[] = [];
    for (const f of this.abortedBeforeStart()) {
      const e = f.entryAtSeen;
      const calls = effects.filter((x) => x.key === f.token && x.command === f.command);
      for (const x of calls) out.push(`${iso(x.wall)}: ${f.command} ${f.token} called after its abort was served at ${iso(f.seenAt)}`);
      const end = final.find((x) => x.command === f.command && x.token === f.token);
      if (end !== undefined && end.state !== 'cancelled') out.push(`${f.command} ${f.token} aborted (served ${iso(f.seenAt)}, ${e?.state ?? 'not yet journalled'} then) ended ${end.state}${end.detail ? `: ${end.detail}` : ''}`);
    }
    return out;
  }
}
