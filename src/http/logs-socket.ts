/**
 * The `/logs` WebSocket (ws, loaded on the first upgrade): filters from the query (`unit`,
 * repeatable or a comma list, with or without `.service`; `match`, a regular expression on the
 * message), one JSON line per message, and backpressure: while the socket holds more than
 * SEND_QUEUE_BYTES unsent, lines are dropped and the next message sent carries `"dropped": n`; when
 * no line comes after the drops, a message of the count alone (`{"dropped": n}`) follows once the
 * socket has sent what it held.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { unitFilter, type LogLine } from '../logs/line.js';
import type { LogClient, LogHub } from './log-hub.js';

/** Unsent bytes a client may hold before its lines are dropped. */
export const SEND_QUEUE_BYTES = 64 * 1024;

/** A client's filter, read from the query; an Error (→ HTTP 400 on the upgrade) when `match` is not a valid expression. */
export function logFilter(query: URLSearchParams): ((line: LogLine) => boolean) | Error {
  const units = query.getAll('unit').flatMap((u) => u.split(',')).map((u) => u.trim()).filter(Boolean);
  const unitOk = unitFilter(units.length > 0 ? units : null);
  const pattern = query.get('match');
  let match: RegExp | undefined;
  if (pattern) {
    try {
      match = new RegExp(pattern);
    } catch (err) {
      return new Error(`match is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  return (line) => unitOk(line.unit) && (match === undefined || match.test(line.message));
}

/** Accepts WebSocket upgrades for `/logs` and wires each socket to the hub. */
export class LogsSocket {
  private server: Promise<WebSocketServer> | undefined;
  private readonly sockets = new Set<WebSocket>();

  constructor(private readonly opts: { hub: LogHub; redact?: (text: string) => string; sendQueueBytes?: number }) {}

  /** Completes an authorised upgrade to `/logs`, or answers 400 for a bad filter. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, query: URLSearchParams): Promise<void> {
    const filter = logFilter(query);
    if (filter instanceof Error) {
      refuse(socket, 400, filter.message);
      return;
    }
    this.server ??= import('ws').then((m) => new m.WebSocketServer({ noServer: true, maxPayload: 1024, clientTracking: false }));
    const wss = await this.server;
    wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, filter));
  }

  /** Closes every socket with 1001 (going away). */
  closeAll(): void {
    for (const ws of this.sockets) ws.close(1001, 'agent stopping');
  }

  private attach(ws: WebSocket, wants: (line: LogLine) => boolean): void {
    const { hub } = this.opts;
    this.sockets.add(ws);
    const client = socketClient(ws, wants, this.opts.sendQueueBytes ?? SEND_QUEUE_BYTES, this.opts.redact ?? ((t) => t));
    ws.on('close', () => {
      this.sockets.delete(ws);
      hub.remove(client);
    });
    ws.on('error', () => ws.terminate());
    // Messages from the client are not part of the protocol: ignored.
    for (const line of hub.add(client)) client.push(line);
  }
}

/** What a client needs of its socket. */
export type SendingSocket = Pick<WebSocket, 'send' | 'close' | 'bufferedAmount' | 'readyState' | 'OPEN'>;

/**
 * A hub client on a socket: a line is sent only while the socket holds at most `limit` unsent
 * bytes, else dropped and counted; the next line sent carries the count as `dropped`. The callback
 * of the last message sent before the drops (it runs once that message left) sends the count alone
 * when no line has carried it by then, so a client that falls behind on the last lines still learns it.
 */
export function socketClient(ws: SendingSocket, wants: (line: LogLine) => boolean, limit: number, hide: (text: string) => string): LogClient {
  let dropped = 0;
  const flushed = (): void => {
    if (dropped === 0 || ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > limit) return; // a later message's callback tries again
    const n = dropped;
    dropped = 0;
    ws.send(JSON.stringify({ dropped: n }), flushed);
  };
  return {
    wants,
    push: (line) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > limit) {
        dropped += 1;
        return;
      }
      const message = { ...line, message: hide(line.message), ...(dropped > 0 ? { dropped } : {}) };
      dropped = 0;
      ws.send(JSON.stringify(message), flushed);
    },
    close: () => ws.close(1001, 'agent stopping'),
  };
}

/** Answers an upgrade with a plain HTTP error and closes the socket. */
export function refuse(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const reason = status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Bad Request';
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text) + 1}\r\nconnection: close\r\n${extra}\r\n${text}\n`);
}
