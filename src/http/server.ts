import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { isLoopback } from '../config/net.js';
import { nodeCrypto, nodeHttp } from '../lib/builtins.js';
import type { Logger } from '../lib/logger.js';
import { refuse, type LogsSocket } from './logs-socket.js';
import { routeTable, type Route, type RouteSources } from './routes.js';

export type { Healthz } from './routes.js';

/** What the local server needs: where to listen, the token, the routes' sources and the `/logs` socket. */
export interface HttpServerOptions extends RouteSources {
  port: number;
  bind: string;
  /** Bearer token; when set every route (the WebSocket too) but /healthz on loopback requires it. */
  token: string | null;
  log?: Logger;
  /** The `/logs` WebSocket; without it `/logs` is 404. */
  logs?: LogsSocket;
}

/** A running local server. */
export interface HttpServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

function same(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && nodeCrypto().timingSafeEqual(a, b);
}

/**
 * Whether a request carries the token: `Authorization: Bearer <token>`, or `?token=<token>` (what
 * a browser can send when an operator opens the page, and on the WebSocket upgrade).
 */
export function authorised(req: IncomingMessage, url: URL, token: string | null, route: Pick<Route, 'openOnLoopback'> | undefined): boolean {
  if (token === null) return true;
  if (route?.openOnLoopback === true && isLoopback(req.socket.remoteAddress ?? '')) return true;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) return same(bearer, token);
  const query = url.searchParams.get('token');
  return query !== null && same(query, token);
}

const UNAUTHORISED = 'unauthorised: send Authorization: Bearer <AGENT_HTTP_TOKEN> (or ?token= from a browser)';

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Routes one request through the table. */
async function handle(opts: HttpServerOptions, table: Readonly<Record<string, Route>>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain', 'method not allowed\n');
    return;
  }
  const route = Object.hasOwn(table, url.pathname) ? table[url.pathname] : undefined;
  if (!authorised(req, url, opts.token, route)) {
    send(res, 401, 'text/plain', `${UNAUTHORISED}\n`, { 'www-authenticate': 'Bearer' });
    return;
  }
  if (!route) {
    send(res, url.pathname === '/logs' && opts.logs ? 426 : 404, 'text/plain', url.pathname === '/logs' && opts.logs ? 'upgrade required: /logs is a WebSocket\n' : 'not found\n');
    return;
  }
  const reply = await route.answer();
  send(res, reply.status, reply.type, reply.body);
}

/** Routes one upgrade: only `/logs`, with the token when one is set. */
function upgrade(opts: HttpServerOptions, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  socket.on('error', () => socket.destroy());
  if (url.pathname !== '/logs' || !opts.logs) return refuse(socket, 404, 'not found');
  if (!authorised(req, url, opts.token, undefined)) return refuse(socket, 401, UNAUTHORISED, { 'www-authenticate': 'Bearer' });
  opts.logs.upgrade(req, socket, head, url.searchParams).catch((err: unknown) => {
    opts.log?.error({ err }, 'local WebSocket upgrade failed');
    socket.destroy();
  });
}

/** Starts the local HTTP server (/healthz, /status, /metrics, /, and the /logs WebSocket). */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const table = routeTable(opts);
  const server = nodeHttp().createServer((req, res) => {
    handle(opts, table, req, res).catch((err: unknown) => {
      opts.log?.error({ err }, 'local HTTP request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrade(opts, req, socket, head));
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
        opts.logs?.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
