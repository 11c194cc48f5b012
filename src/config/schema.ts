import {
  formatDuration,
  formatSize,
  parseAbsolutePath,
  parseBoolean,
  parseCron,
  parseDuration,
  parseEnum,
  parseEnumList,
  parseList,
  parseMaintenanceWindow,
  parseHttpUrl,
  parseNameList,
  parseOptionalDuration,
  parseRegex,
  parseSinks,
  parseSize,
  parseTagPrefix,
  parseTimeZone,
} from './parsers.js';
import { formatWindows, type Window } from '../agent/window.js';
import { parseBindAddress, parseInteger, parsePort, parseToken } from './net.js';

/** Every command an operator can trigger with an `agent.<command>` tag. */
export const COMMAND_NAMES = ['reboot', 'shutdown', 'restart', 'restart-service', 'stop-service', 'start-service', 'purge', 'identify', 'update'] as const;
/** One command name. */
export type CommandName = (typeof COMMAND_NAMES)[number];
/** The watchdog's escalation steps. */
export const LADDER_STEPS = ['restart-service', 'restart', 'reboot'] as const;
/** One watchdog escalation step. */
export type LadderStep = (typeof LADDER_STEPS)[number];
/** The agent's own log levels (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The agent's settings, parsed and typed (durations in ms, sizes in bytes, `null` = off). */
export interface Config {
  pollIntervalMs: number;
  startSpreadMs: number;
  /** Null: no sampling. */
  metricsIntervalMs: number | null;
  report: boolean;
  actions: readonly CommandName[];
  maxRebootsPerDay: number;
  lockWaitMs: number;
  rebootSchedule: string | null;
  scheduleSpreadMs: number;
  watchdog: 'all' | readonly string[] | null;
  watchdogLadder: readonly LadderStep[];
  offlineRebootMs: number | null;
  watchdogIntervalMs: number;
  /** When disruptive work may start (src/agent/window.ts); null = off, any time. */
  maintenanceWindow: readonly Window[] | null;
  /** Obey command tags set on the fleet. */
  fleetCommands: boolean;
  /** IANA time zone of schedules and windows (TZ). */
  timeZone: string;
  logLevel: LogLevel;
  logsForward: readonly string[];
  logsUnits: readonly string[] | null;
  logsMatch: string | null;
  logsSpoolBytes: number;
  httpPort: number;
  httpBind: string;
  httpToken: string | null;
  dataDir: string;
  requestLimit: number;
  requestLimitIntervalMs: number;
  tagPrefix: string;
  bootIdPath: string;
  /** From AGENT_CHECK_<SERVICE>: service name (lower-case, `_` → `-`) → http(s) URL. */
  checks: Readonly<Record<string, string>>;
}

/** One row of the settings table: where a setting comes from, its default and how it is parsed. */
export interface Setting {
  key: keyof Config;
  /** Environment variable; `AGENT_CHECK_<SERVICE>` stands for a family of variables. */
  env: string;
  /** Live tag name (under `<prefix>config.`), or null when only the environment sets it. */
  tag: string | null;
  /** The default as text, as the table shows it; `–` means unset (null). */
  default: string;
  doc: string;
  /** Parses raw text; throws an Error saying what is expected (never repeating the value). */
  parse(raw: string): unknown;
  /** Formats a parsed value back to text, for "keeping …" messages. */
  format(value: unknown): string;
  /** The value must never appear in messages. */
  secret?: true;
  /** `env` is a prefix: one variable per service (`AGENT_CHECK_<SERVICE>`). */
  perService?: true;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : 'off');
const duration = (v: unknown): string => (typeof v === 'number' ? formatDuration(v) : 'off');
const list = (none: string) => (v: unknown): string => (v === null ? 'all' : Array.isArray(v) ? (v.length === 0 ? none : v.join(',')) : text(v));
const onOff = (v: unknown): string => (v === true ? 'on' : 'off');

/** Every setting of the agent, in the order of the README's table. */
export const SETTINGS: readonly Setting[] = Object.freeze(([
  { key: 'pollIntervalMs', env: 'AGENT_POLL_INTERVAL', tag: 'poll-interval', default: '5m', format: duration,
    doc: 'how often the cloud is read (one request per poll; each poll ±20 % so a fleet never polls in step); at least `10s`',
    parse: (raw) => parseDuration(raw, { min: 10 * SECOND }) },
  { key: 'startSpreadMs', env: 'AGENT_START_SPREAD', tag: null, default: '2m', format: duration,
    doc: 'random delay before the first cloud call (boot storms)',
    parse: (raw) => parseDuration(raw) },
  { key: 'metricsIntervalMs', env: 'AGENT_METRICS_INTERVAL', tag: 'metrics-interval', default: '60s', format: duration,
    doc: 'metrics sampling (`off`: none, no metrics tags, no device values in `/metrics`); at least `10s`',
    parse: (raw) => parseOptionalDuration(raw, { min: 10 * SECOND }) },
  { key: 'report', env: 'AGENT_REPORT', tag: 'report', default: 'on', format: onOff,
    doc: 'write health/metrics tags',
    parse: parseBoolean },
  { key: 'actions', env: 'AGENT_ACTIONS', tag: 'actions', default: 'reboot,restart,restart-service,stop-service,start-service,identify,update',
    format: list('none'),
    doc: 'commands operators may trigger (`none` for no command); `shutdown` and `purge` must be added on purpose',
    parse: (raw) => parseEnumList(raw, COMMAND_NAMES, 'command') },
  { key: 'maxRebootsPerDay', env: 'AGENT_MAX_REBOOTS_PER_DAY', tag: 'max-reboots-per-day', default: '3', format: text,
    doc: 'agent-initiated reboots in any 24 h (commands, schedules, watchdogs together); 0–100',
    parse: (raw) => parseInteger(raw, 0, 100) },
  { key: 'lockWaitMs', env: 'AGENT_LOCK_WAIT', tag: 'lock-wait', default: '30m', format: duration,
    doc: 'how long a command waits on an update lock (423) before `blocked`',
    parse: (raw) => parseDuration(raw) },
  { key: 'rebootSchedule', env: 'AGENT_REBOOT_SCHEDULE', tag: 'reboot-schedule', default: 'off', format: text,
    doc: 'cron expression in `TZ` (e.g. `0 3 * * *`)',
    parse: parseCron },
  { key: 'scheduleSpreadMs', env: 'AGENT_SCHEDULE_SPREAD', tag: 'schedule-spread', default: '30m', format: duration,
    doc: 'each device shifts scheduled work by a stable offset derived from its uuid; at most `1d`',
    parse: (raw) => parseDuration(raw, { max: DAY }) },
  { key: 'watchdog', env: 'AGENT_WATCHDOG', tag: 'watchdog', default: 'off', format: list('off'),
    doc: '`all` or a list of services to keep running',
    parse: (raw) => {
      const t = raw.trim().toLowerCase();
      if (t === '' || t === 'off' || t === 'none') return null;
      if (t === 'all') return 'all';
      return parseNameList(raw, 'service');
    } },
  { key: 'checks', env: 'AGENT_CHECK_<SERVICE>', tag: null, default: '–', format: text, perService: true,
    doc: 'an HTTP URL whose non-2xx or timeout counts as that service unhealthy (`<SERVICE>` upper-case, `-` written `_`)',
    parse: parseHttpUrl },
  { key: 'watchdogLadder', env: 'AGENT_WATCHDOG_LADDER', tag: 'watchdog-ladder', default: 'restart-service,restart,reboot',
    format: list('none'),
    doc: 'escalation steps, with growing cool-off between them',
    parse: (raw) => {
      const steps = raw.trim().toLowerCase() === 'none' || parseList(raw).length === 0 ? [] : parseEnumList(raw, LADDER_STEPS, 'step');
      if (steps.length === 0) throw new Error(`must list at least one of ${LADDER_STEPS.join(', ')}`);
      return steps;
    } },
  { key: 'offlineRebootMs', env: 'AGENT_OFFLINE_REBOOT', tag: 'offline-reboot', default: 'off', format: duration,
    doc: 'reboot after this long without cloud contact (e.g. `6h`); at least `10m`',
    parse: (raw) => parseOptionalDuration(raw, { min: 10 * MINUTE }) },
  { key: 'watchdogIntervalMs', env: 'AGENT_WATCHDOG_INTERVAL', tag: 'watchdog-interval', default: '30s', format: duration,
    doc: 'how often the watchdog looks at services; unhealthy after 3 failed checks (or 2 looks not running) in a row; at least `5s`',
    parse: (raw) => parseDuration(raw, { min: 5 * SECOND }) },
  { key: 'maintenanceWindow', env: 'AGENT_MAINTENANCE_WINDOW', tag: 'maintenance-window', default: 'off',
    format: (v) => formatWindows(v as readonly Window[] | null),
    doc: 'when disruptive work may start: `<days> <HH:MM>-<HH:MM>` in `TZ`, several joined by `;`, e.g. '
      + '`Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00`; a window may cross midnight; off: any time '
      + '(`fleet-agent window` shows it)',
    parse: parseMaintenanceWindow },
  { key: 'fleetCommands', env: 'AGENT_FLEET_COMMANDS', tag: 'fleet-commands', default: 'on', format: onOff,
    doc: "obey command tags set on the fleet; `off` on one device's tag opts it out (what waits there is `cancelled`)",
    parse: parseBoolean },
  { key: 'timeZone', env: 'TZ', tag: null, default: 'UTC', format: text,
    doc: 'IANA time zone of schedules and windows (balena sets it as a variable); an unknown zone is refused',
    parse: parseTimeZone },
  { key: 'logLevel', env: 'AGENT_LOG_LEVEL', tag: 'log-level', default: 'info', format: text,
    doc: `the agent's own log level: ${LOG_LEVELS.join(', ')}`,
    parse: (raw) => parseEnum(raw, LOG_LEVELS) },
  { key: 'logsForward', env: 'AGENT_LOGS_FORWARD', tag: 'logs-forward', default: 'none', format: list('none'),
    doc: 'comma list of sinks: `cloud`, `loki+http(s)://…`, `http(s)://…` (NDJSON)',
    parse: parseSinks },
  { key: 'logsUnits', env: 'AGENT_LOGS_UNITS', tag: 'logs-units', default: 'all', format: list('all'),
    doc: 'which journal units to forward (comma list)',
    parse: (raw) => (raw.trim().toLowerCase() === 'all' ? null : parseNameList(raw, 'unit')) },
  { key: 'logsMatch', env: 'AGENT_LOGS_MATCH', tag: 'logs-match', default: 'none', format: (v) => (v === null ? 'none' : text(v)),
    doc: 'forward only journal lines matching this regular expression',
    parse: parseRegex },
  { key: 'logsSpoolBytes', env: 'AGENT_LOGS_SPOOL', tag: null, default: '64MB', format: (v) => formatSize(Number(v)),
    doc: 'disk budget for logs held while a sink is unreachable; at least `1MB`',
    parse: (raw) => parseSize(raw, { min: 2 ** 20 }) },
  { key: 'httpPort', env: 'AGENT_HTTP_PORT', tag: null, default: '48485', format: text,
    doc: 'local HTTP server port (1–65535)',
    parse: parsePort },
  { key: 'httpBind', env: 'AGENT_HTTP_BIND', tag: null, default: '127.0.0.1', format: text,
    doc: 'local HTTP server address (IPv4, IPv6 or hostname)',
    parse: parseBindAddress },
  { key: 'httpToken', env: 'AGENT_HTTP_TOKEN', tag: null, default: '–', format: () => '[hidden]', secret: true,
    doc: 'bearer token (at least 8 characters); required when bound beyond loopback',
    parse: parseToken },
  { key: 'dataDir', env: 'AGENT_DATA_DIR', tag: null, default: '/data/fleet-agent', format: text,
    doc: 'journal, spool, caches (a named volume)',
    parse: parseAbsolutePath },
  { key: 'requestLimit', env: 'AGENT_REQUEST_LIMIT', tag: null, default: '60', format: text,
    doc: 'ceiling on cloud requests per interval (the SDK\'s request_limit); at least 1',
    parse: (raw) => parseInteger(raw, 1, 100_000) },
  { key: 'requestLimitIntervalMs', env: 'AGENT_REQUEST_LIMIT_INTERVAL', tag: null, default: '1m', format: duration,
    doc: 'the interval of that ceiling; at least `1s`',
    parse: (raw) => parseDuration(raw, { min: SECOND }) },
  { key: 'tagPrefix', env: 'AGENT_TAG_PREFIX', tag: null, default: 'agent.', format: text,
    doc: 'prefix of every tag the agent reads or writes (no spaces)',
    parse: parseTagPrefix },
  { key: 'bootIdPath', env: 'AGENT_BOOT_ID_PATH', tag: null, default: '/proc/sys/kernel/random/boot_id', format: text,
    doc: "where the kernel's boot id is read (tells a finished reboot from a crash)",
    parse: parseAbsolutePath },
] satisfies Setting[]).map((s) => Object.freeze(s)));

/** The settings that tags can override without a restart. */
export const LIVE_SETTINGS: readonly Setting[] = SETTINGS.filter((s) => s.tag !== null);

/** The environment variable prefix of per-service HTTP checks. */
export const CHECK_PREFIX = 'AGENT_CHECK_';
