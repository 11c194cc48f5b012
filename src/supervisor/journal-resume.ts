/**
 * Where a reader of a journal follow stands, so a stream opened again (its backlog repeats lines
 * already read) is read on from there: lines older than the last one read are skipped, and of the
 * lines with its very timestamp, as many as were read.
 */
export class JournalResume {
  private lastUs = -1;
  private atLast = 0;
  private skipAtLast = 0;

  /** Call when a stream is opened (again). */
  reopened(): void {
    this.skipAtLast = this.atLast;
  }

  /** Whether a line with this `__REALTIME_TIMESTAMP` is new; records it when it is. */
  fresh(atUs: number): boolean {
    if (atUs < this.lastUs) return false;
    if (atUs === this.lastUs) {
      if (this.skipAtLast > 0) {
        this.skipAtLast -= 1;
        return false;
      }
      this.atLast += 1;
      return true;
    }
    this.lastUs = atUs;
    this.atLast = 1;
    this.skipAtLast = 0;
    return true;
  }
}
