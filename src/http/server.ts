import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopback } from '../config/net.js';
import { nodeCrypto, nodeHttp } from '../lib/builtins.js';
import type { Logger } from '../lib/logger.js';
import { redactDeep } from '../lib/redact.js';
import { renderStatusPage } from './page.js';

/** What /healthz answers: ok, or the reasons it is not. */
export interface Healthz {
  ok: boolean;
  /** ok | degraded | failing; derived from `ok` when absent. */
  state?: string;
  reasons: readonly string[];
}

/** What the local server needs from the agent; every provider is cheap and synchronous. */
export interface HttpServerOptions {
  port: number;
  bind: string;
  /** Bearer token; when set every route but /healthz on loopback requires it. */
  token: string | null;
  log?: Logger;
  healthz: () => Healthz;
  /** The JSON document of /status (must hold no secrets). */
  status: () => unknown;
  /** Prometheus text exposition for /metrics. */
  metrics?: () => string;
  /** Hides secrets in every string of /healthz, /status and the page (error text may echo a key). */
  redact?: (text: string) => string;
}

/** A running local server. */
export interface HttpServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && nodeCrypto().timingSafeEqual(given, wanted);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A document as served: every string passed through the redactor, when there is one. */
function shown<T>(opts: HttpServerOptions, doc: T): T {
  return opts.redact ? redactDeep(doc, opts.redact) : doc;
}

/** Routes one request. */
function handle(opts: HttpServerOptions, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain', 'method not allowed\n');
    return;
  }
  // The image's HEALTHCHECK calls /healthz over loopback without a token.
  const open = url.pathname === '/healthz' && isLoopback(req.socket.remoteAddress ?? '');
  if (opts.token && !open && !tokenMatches(req.headers.authorization, opts.token)) {
    res.setHeader('www-authenticate', 'Bearer');
    send(res, 401, 'text/plain', 'unauthorised: send Authorization: Bearer <AGENT_HTTP_TOKEN>\n');
    return;
  }
  switch (url.pathname) {
    case '/healthz': {
      const health = shown(opts, opts.healthz());
      send(res, health.ok ? 200 : 503, 'application/json', `${JSON.stringify(health)}\n`);
      return;
    }
    case '/status':
      send(res, 200, 'application/json', `${JSON.stringify(shown(opts, opts.status()), null, 2)}\n`);
      return;
    case '/metrics':
      send(res, 200, 'text/plain; version=0.0.4', opts.metrics?.() ?? '');
      return;
    case '/': {
      const health = shown(opts, opts.healthz());
      const state = health.state ?? (health.ok ? 'ok' : 'failing');
      send(res, 200, 'text/html; charset=utf-8', renderStatusPage({ state, reasons: health.reasons }, shown(opts, opts.status())));
      return;
    }
    default:
      send(res, 404, 'text/plain', 'not found\n');
  }
}

/** Starts the local HTTP server (/healthz, /status, /metrics, /). */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const server = nodeHttp().createServer((req, res) => {
    try {
      handle(opts, req, res);
    } catch (err) {
      opts.log?.error({ err }, 'local HTTP request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
    }
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.bind.includes(':') ? `[${opts.bind}]` : opts.bind;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
