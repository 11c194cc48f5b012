/**
 * One agent process in a simulated device (see device-model.ts): its view of the clock, and a
 * gate that every call and journal write of it passes, so that a process can die at any moment.
 *
 * A process that dies is abandoned, never stopped: its sleeps never end (their timers may still
 * come due on the shared clock, and wake nothing), its calls in flight never answer, and a journal
 * write it asks for after its death never starts. A write already in flight when it dies is let
 * finish (to disk) first, so the next process finds exactly what the dead one had fsynced.
 */
import type { JournalFile } from '../../src/agent/journal.js';
import { JournalStore } from '../../src/agent/journal-store.js';
import type { Clock, ManualClock } from '../../src/lib/clock.js';

const NEVER = new Promise<never>(() => undefined);

/** One agent process: its clock, and a gate every call and journal write of it passes. */
export class AgentProcess {
  alive = true;
  /** Resolves when the process dies. */
  readonly died: Promise<void>;
  private markDead: () => void = () => undefined;
  private readonly startMono: number;
  private readonly inflight = new Set<Promise<unknown>>();

  /** `tally.blocked` counts what a dead process still tried (a call, a write, a sleep): none of it happens. */
  constructor(private readonly base: ManualClock, readonly bootId: string, readonly id: number, private readonly tally: { blocked: number }) {
    this.startMono = base.now();
    this.died = new Promise((resolve) => (this.markDead = resolve));
  }

  /**
   * The process' clock: monotonic time starts at 0 with the process; a sleep of a dead process
   * never ends (its timer may still come due on the shared clock, and wakes nothing).
   */
  readonly clock: Clock = {
    now: () => this.base.now() - this.startMono,
    wall: () => this.base.wall(),
    sleep: (ms, signal) => {
      if (!this.alive) return this.blocked();
      return this.base.sleep(ms, signal).then(
        () => (this.alive ? undefined : NEVER),
        (err: unknown) => (this.alive ? Promise.reject(err instanceof Error ? err : new Error(String(err))) : NEVER),
      );
    },
  };

  /**
   * Makes a call on behalf of the process: at once while it lives (the request leaves), its answer
   * only if it still lives when the answer comes; a dead process' calls never leave nor answer.
   * `landsAfterDeath`: a journal write in flight, which `kill` lets finish.
   */
  gate<T>(call: () => T | Promise<T>, opts: { landsAfterDeath?: boolean } = {}): Promise<T> {
    if (!this.alive) return this.blocked();
    let inner: Promise<T>;
    try {
      inner = Promise.resolve(call());
    } catch (err) {
      inner = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (opts.landsAfterDeath === true) this.inflight.add(inner);
    return new Promise<T>((resolve, reject) => {
      inner.then(
        (value) => {
          this.inflight.delete(inner);
          if (this.alive) resolve(value);
        },
        (err: unknown) => {
          this.inflight.delete(inner);
          if (this.alive) reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  /**
   * The journal's file in `dir` (a real JournalStore), written only while the process lives;
   * `landed` sees the text of every write that reached the disk.
   */
  journalFile(dir: string, landed: (text: string) => void = () => undefined): JournalFile {
    const real = new JournalStore(dir);
    return {
      path: real.path,
      read: () => this.gate(() => real.read()),
      write: (text) => this.gate(async () => {
        await real.write(text);
        landed(text);
      }, { landsAfterDeath: true }),
      quarantine: (wall) => this.gate(() => real.quarantine(wall), { landsAfterDeath: true }),
    };
  }

  private blocked(): Promise<never> {
    this.tally.blocked += 1;
    return NEVER;
  }

  /** Marks the process dead at once (what a call that kills it does); `kill` finishes the job. */
  die(): void {
    this.alive = false;
    this.markDead();
  }

  /** The process dies: journal writes in flight land, nothing else happens. */
  async kill(): Promise<void> {
    this.die();
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }
}
