/**
 * A loopback log receiver for tests and benchmarks: takes NDJSON batches (`POST /…`) and Loki pushes
 * (`POST /loki/api/v1/push`), records every line in arrival order, and answers as told: down (503),
 * a queue of canned statuses (with Retry-After), 400 for a batch holding a poison line, 413 above a
 * line count, 401 for missing/wrong basic auth.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One received line: the NDJSON object, or for Loki `{unit, time_ns, message, labels}`. */
export type Received = Record<string, unknown>;

/** A recording receiver (see the file header). */
export class LogReceiver {
  readonly lines: Received[] = [];
  /** Requests seen, with their answers and line counts. */
  readonly requests: { path: string; status: number; lines: number; auth: string | undefined }[] = [];
  /** While true, every request gets 503. */
  down = false;
  /** Statuses for the next requests, in order (then 2xx). */
  queue: { status: number; retryAfter?: string }[] = [];
  /** A batch holding a line whose message matches is refused 400 whole. */
  poison: RegExp | undefined;
  /** A batch with more lines than this is refused 413. */
  maxLines = Infinity;
  /** `user:pass` a request must carry as basic auth (401 otherwise). */
  basic: string | undefined;
  private server: Server | undefined;
  private readonly waiters = new Set<() => void>();

  /** Starts on 127.0.0.1, port 0. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Resolves once `n` lines have been received. */
  waitFor(n: number): Promise<void> {
    if (this.lines.length >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.lines.length < n) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    const header = req.headers.authorization;
    const auth = header?.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : undefined;
    const lines = path.endsWith('/loki/api/v1/push') ? lokiLines(text) : text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Received);
    const answer = (status: number, headers: Record<string, string> = {}): void => {
      this.requests.push({ path, status, lines: lines.length, auth });
      res.writeHead(status, headers).end(status >= 400 ? `refused ${status}` : '');
    };
    if (this.basic !== undefined && auth !== this.basic) return answer(401);
    if (this.down) return answer(503);
    const canned = this.queue.shift();
    if (canned) return answer(canned.status, canned.retryAfter !== undefined ? { 'retry-after': canned.retryAfter } : {});
    if (lines.length > this.maxLines) return answer(413);
    if (this.poison && lines.some((l) => typeof l.message === 'string' && this.poison!.test(l.message))) return answer(400);
    this.lines.push(...lines);
    answer(path.endsWith('/loki/api/v1/push') ? 204 : 200);
    for (const wake of [...this.waiters]) wake();
  }
}

function lokiLines(text: string): Received[] {
  const body = JSON.parse(text) as { streams: { stream: Record<string, string>; values: [string, string][] }[] };
  return body.streams.flatMap((s) => s.values.map(([ns, message]) => ({ unit: s.stream.unit, time_ns: ns, message, labels: s.stream })));
}
