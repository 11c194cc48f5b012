/** The acknowledgement protocol: `<prefix><command>.ack` = `<token> <state> <UTC ISO time>[ <detail>]`. */

import { clip } from '../lib/text.js';
import { byOperator, type Origin } from './intent.js';

/** Every state an acknowledgement can show (PRODUCT §3). */
export const ACK_STATES = ['accepted', 'running', 'done', 'failed', 'rejected', 'blocked', 'deferred', 'scheduled', 'cancelled'] as const;

/** One acknowledgement state. */
export type AckState = (typeof ACK_STATES)[number];

/** States after which a token never runs again. */
export const TERMINAL: ReadonlySet<AckState> = new Set(['done', 'failed', 'rejected', 'blocked', 'cancelled']);

/** The token shown in an ack when the tag held no usable token. */
export const NO_TOKEN = '-';

/** Longest detail written into an ack (tag values should stay short). */
export const MAX_DETAIL = 200;

/** A parsed acknowledgement. */
export interface Ack {
  token: string;
  state: AckState;
  atWall: number;
  detail: string;
}

/** The ack tag key of a command. */
export function ackKey(prefix: string, command: string): string {
  return `${prefix}${command}.ack`;
}

/** C0 and C1 control characters and DEL (whitespace among them is flattened before this applies). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text as one clean line: whitespace runs become one space, other control characters `?`. */
export function oneCleanLine(text: string): string {
  return text.replace(/\s+/g, ' ').replace(CONTROL, '?').trim();
}

/**
 * Formats an ack value as one clean line: the detail (which may quote an operator's tag value
 * or a peer's error text) is flattened, stripped of control characters and shortened.
 */
export function formatAck(token: string, state: AckState, atWall: number, detail = ''): string {
  const short = clip(oneCleanLine(detail), MAX_DETAIL);
  return `${oneCleanLine(token) || NO_TOKEN} ${state} ${new Date(atWall).toISOString()}${short ? ` ${short}` : ''}`;
}

/** Parses an ack value; undefined when it is not one of ours. */
export function parseAck(value: string): Ack | undefined {
  const match = /^(\S+) (\S+) (\S+)(?: (.*))?$/.exec(value.trim());
  if (!match) return undefined;
  const [, token = '', state = '', time = '', detail = ''] = match;
  if (!(ACK_STATES as readonly string[]).includes(state)) return undefined;
  const atWall = Date.parse(time);
  if (Number.isNaN(atWall)) return undefined;
  return { token, state: state as AckState, atWall, detail };
}

/** The report tag key of a behaviour: `<prefix><behaviour>.last`. */
export function lastKey(prefix: string, behaviour: string): string {
  return `${prefix}${behaviour}.last`;
}

/** A behaviour's `.last` value: `<command>[ <service>,…] <state> <UTC time>[ <detail>]`, one clean line. */
export function formatLast(command: string, services: readonly string[], state: AckState, atWall: number, detail = ''): string {
  const what = services.length > 0 ? `${command} ${services.join(',')}` : command;
  const short = clip(oneCleanLine(detail), MAX_DETAIL);
  return `${oneCleanLine(what)} ${state} ${new Date(atWall).toISOString()}${short ? ` ${short}` : ''}`;
}

/** What an entry needs to be reported. */
export interface Reportable {
  command: string;
  token: string;
  origin?: Origin;
  services: readonly string[];
  state: AckState;
  updatedAt: number;
  detail: string;
  /** When a `scheduled` entry starts: its ack shows this time instead of the time it was written. */
  startAt?: number;
}

/** The time an ack shows: a `scheduled` entry's start (PRODUCT §3), else when the state was entered. */
export function shownTime(e: Pick<Reportable, 'state' | 'updatedAt' | 'startAt'>): number {
  return e.state === 'scheduled' && e.startAt !== undefined ? e.startAt : e.updatedAt;
}

/**
 * The report tag values for the given entries (the most recent of each slot): an operator's
 * command (set on the device or on the fleet) in `<prefix><command>.ack`, a behaviour's intent in
 * `<prefix><behaviour>.last`.
 */
export function ackTags(latest: Iterable<Reportable>, prefix: string): Record<string, string> {
  const acks: Record<string, string> = {};
  for (const e of latest) {
    if (e.origin !== undefined && !byOperator(e.origin)) acks[lastKey(prefix, e.origin)] = formatLast(e.command, e.services, e.state, shownTime(e), e.detail);
    else acks[ackKey(prefix, e.command)] = formatAck(e.token.startsWith('#') ? NO_TOKEN : e.token, e.state, shownTime(e), e.detail);
  }
  return acks;
}
