/**
 * Counts the kernel's `Under-voltage detected` lines of this boot from one always-on journal
 * follow filtered to the kernel (`-t kernel`): cheap (the kernel writes few lines) and on any
 * board, whether or not its firmware bits are readable. Run it as a scheduler service: when the
 * supervisor drops the stream, the scheduler opens it again and lines already counted are skipped.
 */
import { fromJournalJson } from '../logs/line.js';
import { JournalResume } from '../supervisor/journal-resume.js';
import type { JournalLogsOptions } from '../supervisor/types.js';
import { isUnderVoltageLine } from './power.js';

/** The journal follow the counter reads (the supervisor client's `journalLogs`). */
export type JournalFollow = (opts: JournalLogsOptions, signal: AbortSignal) => AsyncIterable<string> | Iterable<string>;

/** How many kernel lines the first open reads back (the boot's kernel lines so far). */
export const KERNEL_BACKLOG = 5_000;

/** The under-voltage counter of this boot. */
export class UnderVoltageCounter {
  private count = 0;
  private read = false;
  /** A reopened stream repeats lines already looked at. */
  private readonly resume = new JournalResume();
  private readonly bootId: string;

  /** `bootId`: the kernel's boot id (lines of other boots in a persistent journal are not counted). */
  constructor(private readonly opts: { journal: JournalFollow; bootId: string }) {
    this.bootId = opts.bootId.replace(/-/g, '').toLowerCase();
  }

  /** Lines counted since boot; undefined until the journal gave a first kernel line. */
  get events(): number | undefined {
    return this.read ? this.count : undefined;
  }

  /** Follows the kernel's lines until `signal` aborts or the stream ends. */
  async run(signal: AbortSignal): Promise<void> {
    this.resume.reopened();
    const stream = this.opts.journal({ follow: true, format: 'json', containerId: 'kernel', count: KERNEL_BACKLOG }, signal);
    for await (const text of stream) this.take(text);
  }

  /** Looks at one journal line (JSON export). */
  take(text: string): void {
    const entry = fromJournalJson(text);
    if (entry instanceof Error) return;
    this.read = true;
    if (!this.resume.fresh(entry.atUs)) return;
    if (!isUnderVoltageLine(entry.line.message)) return;
    const boot = /"_BOOT_ID"\s*:\s*"([0-9a-f]+)"/i.exec(text)?.[1]?.toLowerCase();
    if (boot === undefined || this.bootId === '' || boot === this.bootId) this.count += 1;
  }
}
