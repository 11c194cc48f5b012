import { dialAddress, missingTokenProblem, parseBindAddress, parsePort, parseToken } from '../config/net.js';
import { nodeHttp } from '../lib/builtins.js';

/** Where the running agent's local server listens, read from the environment as the agent reads it. */
export interface LocalServer {
  host: string;
  port: number;
  token: string | null;
}

/** What one probe of `/healthz` found. */
export type ProbeResult =
  | { state: 'ok' | 'degraded' | 'failing'; reasons: string[] }
  /** Nothing answered (or not as the agent does). */
  | { state: 'unreachable'; reasons: string[] }
  /** The settings themselves are bad: the agent refuses to start with them too. */
  | { state: 'misconfigured'; reasons: string[] };

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads AGENT_HTTP_PORT, AGENT_HTTP_BIND and AGENT_HTTP_TOKEN with the settings' own parsers and
 * rules (empty is unset, a token is required beyond loopback); returns the problems otherwise.
 */
export function readLocalServer(env: Env): LocalServer | { problems: string[] } {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: T, parse: (raw: string) => T, secret = false): T => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    try {
      return parse(raw);
    } catch (err) {
      problems.push(`${name}${secret ? ' (value hidden)' : `=${JSON.stringify(raw.trim().slice(0, 60))}`}: ${(err as Error).message}`);
      return fallback;
    }
  };
  const port = read('AGENT_HTTP_PORT', 48485, parsePort);
  const bind = read('AGENT_HTTP_BIND', '127.0.0.1', parseBindAddress);
  const token = read<string | null>('AGENT_HTTP_TOKEN', null, parseToken, true);
  const tokenProblem = missingTokenProblem(bind, token);
  if (tokenProblem !== undefined && !problems.some((p) => p.startsWith('AGENT_HTTP_TOKEN'))) problems.push(tokenProblem);
  return problems.length > 0 ? { problems } : { host: dialAddress(bind), port, token };
}

const MAX_BODY = 64 * 1024;

/**
 * Asks the running agent's `/healthz` for its verdict, with nothing but node:http: cheap enough for
 * a container HEALTHCHECK every minute on a small device. Never throws.
 */
export function probeHealth(env: Env, timeoutMs = 5_000): Promise<ProbeResult> {
  const target = readLocalServer(env);
  if ('problems' in target) return Promise.resolve({ state: 'misconfigured', reasons: target.problems });
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const unreachable = (why: string): void => done({ state: 'unreachable', reasons: [`no agent answers on ${where} (${why})`] });
    const req = nodeHttp().request(
      { host: target.host, port: target.port, path: '/healthz', method: 'GET', agent: false, headers: target.token ? { authorization: `Bearer ${target.token}` } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) unreachable(`reply larger than ${MAX_BODY} bytes`);
          else chunks.push(chunk);
        });
        res.on('error', (err) => unreachable(err.message));
        res.on('end', () => done(verdict(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), where)));
      },
    );
    const timer = setTimeout(() => unreachable(`no reply within ${timeoutMs} ms`), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => unreachable(err.code ?? err.message));
    req.end();
  });
}

/** Reads a /healthz reply: JSON `{ok, state, reasons}` with 200 or 503; anything else is not the agent. */
function verdict(status: number, body: string, where: string): ProbeResult {
  let doc: { ok?: unknown; state?: unknown; reasons?: unknown };
  try {
    doc = JSON.parse(body) as typeof doc;
  } catch {
    doc = {};
  }
  const known = doc.state === 'ok' || doc.state === 'degraded' || doc.state === 'failing';
  if (status === 401) return { state: 'unreachable', reasons: [`${where} refused the token (HTTP 401): AGENT_HTTP_TOKEN must be the agent's`] };
  if ((status !== 200 && status !== 503) || (!known && typeof doc.ok !== 'boolean')) {
    return { state: 'unreachable', reasons: [`${where} answered HTTP ${status}, not the agent's /healthz`] };
  }
  const state = known ? (doc.state as 'ok' | 'degraded' | 'failing') : doc.ok === true ? 'ok' : 'failing';
  const reasons = Array.isArray(doc.reasons) ? doc.reasons.filter((r): r is string => typeof r === 'string').map((r) => r.slice(0, 200)) : [];
  return { state, reasons };
}

/** One line for people and for the container's health log: `ok`, or the state and its reasons. */
export function probeLine(result: ProbeResult): string {
  if (result.state === 'ok') return 'ok';
  return `${result.state}: ${result.reasons.join('; ') || 'no reason given'}`;
}
