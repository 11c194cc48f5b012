import type { Dispatcher } from 'undici';
import { BadResponseError, UnreachableError, type HttpError } from '../lib/errors.js';
import type { Clock } from '../lib/clock.js';
import { flattenHeaders, joinUrl, networkError, readCapped, type HttpReply, type HttpTarget } from '../lib/http.js';

/** What `openJournal` needs: an authorised path and body, and how to map an error reply. */
export interface JournalRequest {
  target: HttpTarget;
  clock: Clock;
  /** Path with any `?apikey=` already added. */
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  signal: AbortSignal;
  onError: (reply: HttpReply) => HttpError;
  /** `head`: the timeout bounds the wait for the reply head (a follow stream); `stream`: the whole reply. */
  timeoutCovers: 'head' | 'stream';
}

/** Longest line kept before the stream is refused (a journal line is far shorter). */
const MAX_LINE_BYTES = 1024 * 1024;

const WHERE = 'POST /v2/journal-logs';

/**
 * Opens a streaming `POST /v2/journal-logs` and yields its lines (without the newline), those of
 * each chunk read in one array. The
 * target's timeout (timed with the injected clock) covers the reply head or the whole reply, as
 * `timeoutCovers` says; aborting `signal` closes the connection and ends the iteration without an error.
 * Both signals are plain controllers' (no `AbortSignal.timeout`, which can be collected before it fires).
 */
export async function* openJournal(req: JournalRequest): AsyncGenerator<string[]> {
  if (req.signal.aborted) return;
  const timedOut = new AbortController();
  const timerDone = new AbortController();
  req.clock.sleep(req.target.timeoutMs, timerDone.signal).then(
    () => timedOut.abort(),
    () => undefined,
  );
  try {
    const signal = AbortSignal.any([req.signal, timedOut.signal]);
    const base = new URL(req.target.baseUrl);
    let res: Dispatcher.ResponseData;
    try {
      res = await req.target.dispatcher.request({
        origin: base.origin,
        path: joinUrl(base.pathname, req.path),
        method: 'POST',
        headers: { ...req.headers, 'content-type': 'application/json' },
        body: JSON.stringify(req.body),
        signal,
        // The injected clock's timer above owns the timeout; undici's own (300 s by default) would
        // cut a follow stream that is quiet for five minutes.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } catch (err) {
      if (req.signal.aborted) return;
      if (timedOut.signal.aborted) {
        throw new UnreachableError('supervisor', 'TIMEOUT', `supervisor did not answer ${WHERE} within ${req.target.timeoutMs} ms`, { cause: err });
      }
      throw networkError('supervisor', 'POST', '/v2/journal-logs', err, req.target.timeoutMs);
    }
    if (req.timeoutCovers === 'head') timerDone.abort();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await readCapped(res.body, 64 * 1024, 'supervisor', WHERE).catch(() => '');
      throw req.onError({ status: res.statusCode, headers: flattenHeaders(res.headers), text });
    }
    yield* lines(res.body, req.signal, timedOut.signal, req.target.timeoutMs);
  } finally {
    timerDone.abort();
  }
}

/**
 * The lines of a reply body, one array per chunk read: split on newline bytes and each line decoded
 * on its own, so no string larger than a line is built and the next chunk is read only when the
 * consumer asks for it (the socket is read no faster than the lines are taken). A line split across
 * chunks is carried as bytes (a multi-byte character split there is decoded whole).
 */
async function* lines(body: Dispatcher.ResponseData['body'], signal: AbortSignal, timedOut: AbortSignal, timeoutMs: number): AsyncGenerator<string[]> {
  let carry: Buffer | undefined;
  const stop = () => body.destroy(new Error('timed out'));
  timedOut.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const out: string[] = [];
      let start = 0;
      let nl = chunk.indexOf(NL);
      if (carry && nl >= 0) {
        const whole = Buffer.concat([carry, chunk.subarray(0, nl)]);
        take(out, whole, 0, whole.length);
        carry = undefined;
        start = nl + 1;
        nl = chunk.indexOf(NL, start);
      }
      while (nl >= 0) {
        take(out, chunk, start, nl);
        start = nl + 1;
        nl = chunk.indexOf(NL, start);
      }
      // Copied, so the chunk is not kept alive by its tail.
      if (start < chunk.length) carry = carry ? Buffer.concat([carry, chunk]) : Buffer.from(chunk.subarray(start));
      if (carry && carry.length > MAX_LINE_BYTES) {
        throw new BadResponseError('supervisor', 'TOO_LARGE', `a line of ${WHERE} is longer than ${MAX_LINE_BYTES} bytes; refused`);
      }
      if (out.length > 0) yield out;
    }
  } catch (err) {
    if (signal.aborted) return;
    if (timedOut.aborted) throw new UnreachableError('supervisor', 'TIMEOUT', `supervisor did not finish ${WHERE} within ${timeoutMs} ms`, { cause: err });
    if (err instanceof BadResponseError) throw err;
    throw new BadResponseError('supervisor', 'BAD_RESPONSE', `supervisor closed ${WHERE} mid-stream`, { cause: err });
  } finally {
    timedOut.removeEventListener('abort', stop);
    body.destroy();
  }
  const rest = carry?.toString('utf8') ?? '';
  if (rest.trim() !== '') yield [rest];
}

const NL = 0x0a;
const CR = 0x0d;

/** Adds the line `buf[start, end)` (without a trailing CR) to `out`, unless it is empty. */
function take(out: string[], buf: Buffer, start: number, end: number): void {
  const stop = end > start && buf[end - 1] === CR ? end - 1 : end;
  if (stop > start) out.push(buf.toString('utf8', start, stop));
}
