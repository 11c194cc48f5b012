import { RESERVED_WORDS, TOKEN_RE } from '../agent/behaviours/operator.js';
import { deviceSchedule, formatRollout, parseFromValue, parseRolloutValue, waveCount, type Rollout } from '../agent/rollout.js';
import { UsageError } from '../lib/errors.js';
import { clip } from '../lib/text.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import type { Runner, RunnersOf } from './commands.js';
import { EXIT } from './exit.js';

const UUID_RE = /^(?:[0-9a-f]{32}|[0-9a-f]{62}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Why a (trimmed, non-blank) line is not a device uuid as the device hashes it; null when it is one. */
export function uuidProblem(line: string): string | null {
  if (UUID_RE.test(line)) return null;
  const shown = JSON.stringify(clip(line, 70));
  if (UUID_RE.test(line.toLowerCase())) return `${shown} has capitals; a device hashes its uuid in lowercase, as balena writes it`;
  if (/^[0-9a-f]{7}$/i.test(line)) return `${shown} is a short uuid; the wave needs the full uuid (32 or 62 hex characters)`;
  return `${shown} is not a device uuid (32 or 62 lowercase hex characters, or the 8-4-4-4-12 form)`;
}

/** The uuids of stdin's text: one per line, blank lines ignored, repeats kept once; bad lines with their numbers. */
export function readUuids(text: string): { uuids: string[]; problems: string[] } {
  const uuids: string[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const problem = uuidProblem(line);
    if (problem !== null) problems.push(`line ${i + 1}: ${problem}`);
    else if (!seen.has(line)) {
      seen.add(line);
      uuids.push(line);
    }
  });
  return { uuids, problems };
}

/** One device's row: its wave 1-based, as acks show it. */
export interface WaveRow {
  uuid: string;
  wave: number;
  of: number;
  start: string;
}

/** Each device's wave and start, ordered by wave, then as given. */
export function waveRows(uuids: readonly string[], token: string, rollout: Rollout, t0Ms: number): WaveRow[] {
  return uuids
    .map((uuid, i) => ({ i, uuid, s: deviceSchedule(uuid, token, rollout, t0Ms) }))
    .sort((a, b) => a.s.wave - b.s.wave || a.i - b.i)
    .map(({ uuid, s }) => ({ uuid, wave: s.wave + 1, of: s.of, start: new Date(s.startMs).toISOString() }));
}

/** Where t0 came from: `--from`, or the CLI's clock (no --from, or a --from in the past). */
export type T0Source = 'from' | 'now' | 'from-past';

/** The table for people: a header saying what t0 is, then one line per device. */
export function describeWaves(rows: readonly WaveRow[], token: string, rollout: Rollout, t0Ms: number, t0: T0Source): string[] {
  const at = new Date(t0Ms).toISOString();
  const t0Line = {
    from: `t0 = ${at} (from --from)`,
    now: `t0 = now, ${at} (no --from: each device counts from when it first sees the token, so its start may be later)`,
    'from-past': `t0 = now, ${at} (--from is in the past, which means now)`,
  }[t0];
  const width = Math.max(4, ...rows.map((r) => `${r.wave}/${r.of}`.length));
  const used = new Set(rows.map((r) => r.wave)).size;
  const n = waveCount(rollout.percent);
  return [
    `rollout ${formatRollout(rollout)} in ${n} wave${n === 1 ? '' : 's'}, token ${token}`,
    t0Line,
    '',
    `${'wave'.padEnd(width)}  ${'start (UTC)'.padEnd(24)}  uuid`,
    ...rows.map((r) => `${`${r.wave}/${r.of}`.padEnd(width)}  ${r.start}  ${r.uuid}`),
    '',
    `${rows.length} device${rows.length === 1 ? '' : 's'} in ${used} of ${n} wave${n === 1 ? '' : 's'}`,
  ];
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  stream.setEncoding('utf8');
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** `waves`: the wave and start of each device read on stdin, as the devices themselves compute them. */
const waves: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'waves', {
    ...COMMON_FLAGS,
    rollout: { type: 'string' },
    token: { type: 'string' },
    from: { type: 'string' },
  });
  if (values.rollout === undefined) throw new UsageError('--rollout is required, e.g. --rollout 10%/1h');
  if (values.token === undefined) throw new UsageError('--token is required: the token of the fleet command');
  const rolloutText = values.rollout.replace(/^rollout=/, '');
  const rollout = parseRolloutValue(rolloutText);
  if (!rollout.ok) throw new UsageError(`--rollout ${rolloutText}: ${rollout.reason}`);
  const token = values.token;
  if (!TOKEN_RE.test(token) || RESERVED_WORDS.has(token)) {
    throw new UsageError(`--token ${JSON.stringify(token.slice(0, 70))}: a token is 1–64 letters, digits and . _ : - (not force, now or abort)`);
  }
  const now = ctx.clock.wall();
  let t0Ms = now;
  let t0: T0Source = 'now';
  if (values.from !== undefined) {
    const fromText = values.from.replace(/^from=/, '');
    const from = parseFromValue(fromText);
    if (!from.ok) throw new UsageError(`--from ${fromText}: ${from.reason}`);
    [t0Ms, t0] = from.value >= now ? [from.value, 'from'] : [now, 'from-past'];
  }
  if (ctx.input === undefined) throw new UsageError('no standard input to read device uuids from');
  const stream = ctx.input();
  if ((stream as { isTTY?: boolean }).isTTY === true) ctx.err('reading device uuids from stdin, one per line; end with Ctrl-D');
  const { uuids, problems } = readUuids(await readAll(stream));
  if (problems.length > 0) {
    for (const problem of problems) ctx.err(`fleet-agent: ${problem}`);
    ctx.err(`fleet-agent: ${problems.length} bad line${problems.length === 1 ? '' : 's'}; nothing printed`);
    return EXIT.usage;
  }
  if (uuids.length === 0) throw new UsageError('no device uuids on stdin (one per line)');
  const rows = waveRows(uuids, token, rollout.value, t0Ms);
  if (values.json) ctx.out(JSON.stringify(rows.map((r) => ({ ...r, t0: new Date(t0Ms).toISOString(), t0Source: t0 }))));
  else for (const line of describeWaves(rows, token, rollout.value, t0Ms, t0)) ctx.out(line);
  return EXIT.ok;
};

/** `waves`. */
export const runners: RunnersOf<'waves'> = { waves };
