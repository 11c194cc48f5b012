/**
 * Each simulated service's own HTTP health check, served by the supervisor simulator on its
 * port at `/sim/check/<service>` (a prefix no supervisor route has): what the agent's
 * `AGENT_CHECK_<SERVICE>` URLs point to in tests and in the demo. It needs no key, and is kept
 * apart from the supervisor's request log, faults, latency and incoming hooks: it stands for a
 * service, not for the supervisor.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import { checkOutcome, type SimCheckOutcome } from './service-faults.js';
import type { SimState } from './state.js';

/** The path prefix of the health checks. */
export const CHECK_PATH = '/sim/check/';

/** One request to a service's health check, as answered. */
export interface RecordedCheck {
  /** The service asked about (as requested, decoded). */
  service: string;
  method: string;
  outcome: SimCheckOutcome;
  /** 200, 500 or 404; 0 when nothing was answered (`held`, `down`). */
  status: number;
  at: number;
}

/** Whether a request path is a health check rather than a supervisor API call. */
export function isCheckPath(pathname: string): boolean {
  return pathname.startsWith(CHECK_PATH);
}

/** The service a check path names, or undefined when it names none (a further `/`, bad escapes). */
function serviceOf(pathname: string): string | undefined {
  const rest = pathname.slice(CHECK_PATH.length);
  if (rest === '' || rest.includes('/')) return undefined;
  try {
    return decodeURIComponent(rest);
  } catch {
    return undefined;
  }
}

/** Answers health checks and records them. */
export class SimChecks {
  private readonly clock: Clock;
  private readonly hooks = new Set<(c: RecordedCheck) => void>();
  /** Every check request, in order. */
  readonly checks: RecordedCheck[] = [];

  constructor(opts: { clock: Clock }) {
    this.clock = opts.clock;
  }

  /** Calls `hook` for every check once it is answered (or held, or cut). Returns an unsubscribe. */
  onCheck(hook: (c: RecordedCheck) => void): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /**
   * `GET|HEAD /sim/check/<service>`: 200 `ok` while the service runs and is well; 500 while it is
   * hung; nothing at all while it is hung silently (held until the client gives up or the
   * simulator stops); the connection cut without a reply while it is not `Running` (nothing
   * listens); 404 for another service or method.
   */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string, state: SimState): void {
    req.resume();
    const name = serviceOf(pathname);
    const method = req.method ?? 'GET';
    const outcome = name !== undefined && (method === 'GET' || method === 'HEAD') ? checkOutcome(state, name) : 'unknown';
    const status = { ok: 200, failed: 500, unknown: 404, held: 0, down: 0 }[outcome];
    this.record({ service: name ?? pathname.slice(CHECK_PATH.length), method, outcome, status, at: this.clock.wall() });
    if (outcome === 'held') return;
    if (outcome === 'down') {
      res.destroy();
      return;
    }
    const text = { ok: 'ok', failed: 'unhealthy: the service is hung', unknown: `Cannot ${method} ${pathname}` }[outcome];
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(text);
  }

  private record(check: RecordedCheck): void {
    this.checks.push(check);
    for (const hook of [...this.hooks]) hook(check);
  }
}
