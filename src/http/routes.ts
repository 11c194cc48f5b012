/**
 * The local server's route table: each path, what it answers, and whether it is open on loopback
 * without the token. The server (server.ts) only authorises, looks the path up and sends.
 */
import { redactDeep } from '../lib/redact.js';
import { renderStatusPage } from './page.js';

/** What /healthz answers: ok, or the reasons it is not. */
export interface Healthz {
  ok: boolean;
  /** ok | degraded | failing; derived from `ok` when absent. */
  state?: string;
  reasons: readonly string[];
}

/** The providers the routes read; every one but `metrics` is cheap and synchronous. */
export interface RouteSources {
  healthz: () => Healthz;
  /** The JSON document of /status (must hold no secrets). */
  status: () => unknown;
  /** Prometheus text exposition for /metrics. */
  metrics?: () => Promise<string>;
  /** Hides secrets in every string of /healthz, /status and the page (error text may echo a key). */
  redact?: (text: string) => string;
}

/** One reply. */
export interface Reply {
  status: number;
  type: string;
  body: string;
}

/** A route: what it answers, and whether a client on loopback may ask it without the token. */
export interface Route {
  answer: () => Reply | Promise<Reply>;
  openOnLoopback?: boolean;
}

/** The Prometheus text format's content type. */
export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/** Every GET route by path (`/logs` is the WebSocket, handled on upgrade). */
export function routeTable(src: RouteSources): Readonly<Record<string, Route>> {
  const shown = <T>(doc: T): T => (src.redact ? redactDeep(doc, src.redact) : doc);
  return {
    // The image's HEALTHCHECK calls /healthz over loopback without a token.
    '/healthz': {
      openOnLoopback: true,
      answer: () => {
        const health = shown(src.healthz());
        return { status: health.ok ? 200 : 503, type: 'application/json', body: `${JSON.stringify(health)}\n` };
      },
    },
    '/status': { answer: () => ({ status: 200, type: 'application/json', body: `${JSON.stringify(shown(src.status()), null, 2)}\n` }) },
    '/metrics': { answer: async () => ({ status: 200, type: PROMETHEUS_TEXT, body: (await src.metrics?.()) ?? '' }) },
    '/': { answer: () => ({ status: 200, type: 'text/html; charset=utf-8', body: renderStatusPage(shown(src.status())) }) },
  };
}
