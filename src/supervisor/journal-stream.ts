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
 * Opens a streaming `POST /v2/journal-logs` and yields its lines (without the newline). The
 * target's timeout (timed with the injected clock) covers the reply head or the whole reply, as
 * `timeoutCovers` says; aborting `signal` closes the connection and ends the iteration without an error.
 * Both signals are plain controllers' (no `AbortSignal.timeout`, which can be collected before it fires).
 */
export async function* openJournal(req: JournalRequest): AsyncGenerator<string> {
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

async function* lines(body: Dispatcher.ResponseData['body'], signal: AbortSignal, timedOut: AbortSignal, timeoutMs: number): AsyncGenerator<string> {
  let pending = '';
  const stop = () => body.destroy(new Error('timed out'));
  timedOut.addEventListener('abort', stop, { once: true });
  try {
    body.setEncoding('utf8');
    for await (const chunk of body) {
      pending += chunk as string;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (line !== '') yield line;
        nl = pending.indexOf('\n');
      }
      if (pending.length > MAX_LINE_BYTES) {
        throw new BadResponseError('supervisor', 'TOO_LARGE', `a line of ${WHERE} is longer than ${MAX_LINE_BYTES} bytes; refused`);
      }
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
  if (pending.trim() !== '') yield pending;
}
