/**
 * A fault on the requests of one route (for crash tests): the supervisor is slow to act or to
 * answer, or cuts the connection before or after acting. Faults apply in the order added; each
 * to `times` matching requests.
 */
export interface SimRouteFault {
  /** `METHOD /path` as requested (e.g. `POST /v1/reboot`), or a predicate on both. */
  route: string | ((method: string, path: string) => boolean);
  /** How many matching requests it applies to (default 1). */
  times?: number;
  /** Waits this long before acting. */
  delayBeforeMs?: number;
  /**
   * With `delayBeforeMs`: a client that went away during the wait leaves nothing to act on (the
   * request never got through). Default false: the supervisor acts anyway, as a handler does
   * whose client left.
   */
  dropIfClientLeft?: boolean;
  /** Waits this long after acting, before replying. */
  delayAfterMs?: number;
  /** Resets the connection without a reply: `before` acting (nothing happens) or `after` acting. */
  reset?: 'before' | 'after';
}

/** The route faults not yet used up, in the order added. */
export class SimRouteFaults {
  private faults: Array<SimRouteFault & { left: number }> = [];

  /** Adds a fault for its `times` matching requests (default 1). */
  add(fault: SimRouteFault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** Removes every fault. */
  clear(): void {
    this.faults = [];
  }

  /** The first fault matching this request, used up by one. */
  take(method: string, path: string): SimRouteFault | undefined {
    const i = this.faults.findIndex((f) => (typeof f.route === 'string' ? f.route === `${method} ${path}` : f.route(method, path)));
    const fault = this.faults[i];
    if (!fault) return undefined;
    fault.left -= 1;
    if (fault.left <= 0) this.faults.splice(i, 1);
    return fault;
  }
}
