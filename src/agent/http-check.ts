/** The watchdog's HTTP checks: a GET of a service's own health URL, 2xx in time = healthy. */
import type { Dispatcher } from 'undici';
import { describe } from '../lib/errors.js';
import { redactUrl, send } from '../lib/http.js';
import type { CheckPort } from './ports.js';

/** How long a check URL has to answer. */
export const CHECK_TIMEOUT_MS = 5_000;

/** Asks check URLs with the agent's HTTP client. */
export class HttpCheck implements CheckPort {
  constructor(private readonly opts: { dispatcher: Dispatcher; timeoutMs?: number }) {}

  async check(url: string, signal: AbortSignal): Promise<string | null> {
    const parsed = new URL(url);
    const timeoutMs = this.opts.timeoutMs ?? CHECK_TIMEOUT_MS;
    try {
      const reply = await send(
        { peer: 'check', baseUrl: parsed.origin, timeoutMs, dispatcher: this.opts.dispatcher, maxBodyBytes: 64 * 1024 },
        { method: 'GET', path: `${parsed.pathname}${parsed.search}`, signal },
      );
      return reply.status >= 200 && reply.status < 300 ? null : `${redactUrl(url)} answered HTTP ${reply.status}`;
    } catch (err) {
      return describe(err);
    }
  }
}
