/** The demo's console: words typed (or piped) into its stdin that switch faults on and off. */

/** One switch the demo's console understands. */
export type DemoSwitch =
  | { kind: 'lock'; held: boolean }
  | { kind: 'rate-limit'; count: number; retryAfterSeconds: number }
  | { kind: 'limit'; points: number | null; windowSeconds: number }
  | { kind: 'down'; peer: 'cloud' | 'supervisor'; down: boolean }
  /** The service exits; `loop`: it exits again after every restart. */
  | { kind: 'crash'; service: string; loop: boolean }
  /** The service runs but its health check fails (500), or never answers when `silent`. */
  | { kind: 'hang'; service: string; silent: boolean }
  | { kind: 'heal'; service: string }
  | { kind: 'updating'; on: boolean }
  | { kind: 'help' };

/** What the console prints for `help` and at start. */
export const CONSOLE_HELP = [
  'Type a switch and Enter to see how the agent copes:',
  '  lock | unlock            the supervisor holds an update lock (423) or lets go',
  '  429 [n] [seconds]        the balena API answers the next n requests (3) with 429, Retry-After seconds (30)',
  '  limit [n] [seconds]      the balena API allows the device n requests (5) per window (60 s), then 429 until the window ends',
  '  limit off                no request limit',
  '  cloud down | cloud up    the balena API resets every connection, or answers again',
  '  supervisor down | up     the supervisor stops listening, or listens again',
  '  crash <service>          the service exits once; a restart (or a reboot) brings it back',
  '  crashloop <service>      the service exits, and again after every restart: no restart fixes it',
  '  hang <service> [silent]  the service runs but its health check answers 500 (silent: never answers)',
  '  heal <service>           the service runs again and its check answers 200',
  '  updating on | off        the supervisor reports an update being applied, or done',
  '  help',
].join('\n');

const whole = (text: string | undefined, fallback: number, max: number): number | undefined => {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= max ? n : undefined;
};

/** A compose service name: letters, digits, `.`, `_`, `-`. */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `crash`, `crashloop`, `hang`, `heal` with their service (kept as typed: service names are case-sensitive). */
function serviceSwitch(verb: string, args: string[]): DemoSwitch | { error: string } | undefined {
  const [service, option, ...rest] = args;
  const named = service !== undefined && SERVICE_NAME.test(service) ? service : undefined;
  if (verb === 'hang') {
    const silent = option?.toLowerCase() === 'silent';
    if (named === undefined || (option !== undefined && !silent) || rest.length > 0) {
      return { error: 'hang takes a service name and optionally silent, e.g. hang main or hang main silent' };
    }
    return { kind: 'hang', service: named, silent };
  }
  if (verb !== 'crash' && verb !== 'crashloop' && verb !== 'heal') return undefined;
  if (named === undefined || option !== undefined) return { error: `${verb} takes one service name (letters, digits, . _ -), e.g. ${verb} main` };
  return verb === 'heal' ? { kind: 'heal', service: named } : { kind: 'crash', service: named, loop: verb === 'crashloop' };
}

/** Parses one console line; returns an error message for anything it does not understand. */
export function parseSwitch(line: string): DemoSwitch | { error: string } {
  const typed = line.trim().split(/\s+/).filter(Boolean);
  const service = typed[0] === undefined ? undefined : serviceSwitch(typed[0].toLowerCase(), typed.slice(1));
  if (service !== undefined) return service;
  const words = typed.map((w) => w.toLowerCase());
  const [first, second, third, ...rest] = words;
  const unknown = { error: `unknown switch "${line.trim().slice(0, 40)}"; type help` };
  if (first === 'updating') {
    if ((second === 'on' || second === 'off') && third === undefined) return { kind: 'updating', on: second === 'on' };
    return { error: 'updating takes on or off, e.g. updating on' };
  }
  if (first === undefined || rest.length > 0) return unknown;
  if ((first === 'lock' || first === 'unlock') && second === undefined) return { kind: 'lock', held: first === 'lock' };
  if (first === 'help' && second === undefined) return { kind: 'help' };
  if (first === '429') {
    const count = whole(second, 3, 1000);
    const retryAfterSeconds = whole(third, 30, 3600);
    if (count === undefined || retryAfterSeconds === undefined) return { error: '429 takes a count (1–1000) and Retry-After seconds (1–3600), e.g. 429 3 30' };
    return { kind: 'rate-limit', count, retryAfterSeconds };
  }
  if (first === 'limit') {
    if (second === 'off' && third === undefined) return { kind: 'limit', points: null, windowSeconds: 60 };
    const points = whole(second, 5, 1000);
    const windowSeconds = whole(third, 60, 3600);
    if (points === undefined || windowSeconds === undefined) return { error: 'limit takes a count (1–1000) and a window in seconds (1–3600), e.g. limit 5 60; or limit off' };
    return { kind: 'limit', points, windowSeconds };
  }
  if ((first === 'cloud' || first === 'supervisor') && (second === 'down' || second === 'up') && third === undefined) {
    return { kind: 'down', peer: first, down: second === 'down' };
  }
  return unknown;
}
