import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/lib/errors.js';
import { exitCodeFor } from '../../src/cli/exit.js';
import { defaultConfig, loadConfig } from '../../src/config/load.js';
import { closest } from '../../src/lib/closest.js';
import { COMMAND_NAMES, SETTINGS, type Config } from '../../src/config/schema.js';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'CONFIG');
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

const TOKEN = 'tok-9f8e7d6c5b4a';

describe('loadConfig defaults', () => {
  it('gives the defaults of PRODUCT §2 for an empty environment', () => {
    const expected: Config = {
      pollIntervalMs: 5 * 60_000,
      startSpreadMs: 2 * 60_000,
      metricsIntervalMs: 60_000,
      report: true,
      actions: ['reboot', 'restart', 'restart-service', 'stop-service', 'start-service', 'identify', 'update'],
      maxRebootsPerDay: 3,
      lockWaitMs: 30 * 60_000,
      rebootSchedule: null,
      scheduleSpreadMs: 30 * 60_000,
      watchdog: null,
      checks: {},
      watchdogLadder: ['restart-service', 'restart', 'reboot'],
      offlineRebootMs: null,
      watchdogIntervalMs: 30_000,
      maintenanceWindow: null,
      fleetCommands: true,
      timeZone: 'UTC',
      logLevel: 'info',
      logsForward: [],
      logsUnits: null,
      logsMatch: null,
      logsSpoolBytes: 64 * 2 ** 20,
      httpPort: 48485,
      httpBind: '127.0.0.1',
      httpToken: null,
      dataDir: '/data/fleet-agent',
      requestLimit: 60,
      requestLimitIntervalMs: 60_000,
      tagPrefix: 'agent.',
      bootIdPath: '/proc/sys/kernel/random/boot_id',
    };
    assert.deepEqual(loadConfig({}), expected);
    assert.deepEqual(defaultConfig(), expected);
    assert.deepEqual(loadConfig({ PATH: '/bin', BALENA_APP_ID: '1', AGENT_POLL_INTERVAL: '  ' }), expected);
  });
  it('returns a frozen config, lists included', () => {
    const config = loadConfig({ AGENT_WATCHDOG: 'main' });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.actions));
    assert.ok(Object.isFrozen(config.watchdog));
    assert.ok(Object.isFrozen(config.checks));
  });
  it('has one schema row per Config key, each default parsing cleanly', () => {
    const keys = SETTINGS.map((s) => s.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual([...keys].sort(), Object.keys(loadConfig({})).sort());
    assert.ok(SETTINGS.every((s) => (s.env.startsWith('AGENT_') || s.env === 'TZ') && s.doc.length > 0));
    assert.ok(!loadConfig({}).actions.includes('shutdown') && !loadConfig({}).actions.includes('purge'));
  });
});

describe('loadConfig values', () => {
  it('reads every kind of value', () => {
    const config = loadConfig({
      AGENT_POLL_INTERVAL: '1h30m',
      AGENT_START_SPREAD: '0',
      AGENT_REPORT: 'OFF',
      AGENT_ACTIONS: 'reboot, purge, shutdown',
      AGENT_MAX_REBOOTS_PER_DAY: '0',
      AGENT_LOCK_WAIT: '0s',
      AGENT_REBOOT_SCHEDULE: '0 3 * * *',
      AGENT_WATCHDOG: 'all',
      AGENT_WATCHDOG_LADDER: 'restart,reboot',
      AGENT_OFFLINE_REBOOT: '6h',
      AGENT_LOG_LEVEL: 'debug',
      AGENT_LOGS_FORWARD: 'cloud,loki+http://10.0.0.5:3100/loki/api/v1/push',
      AGENT_LOGS_UNITS: 'balena.service,kernel',
      AGENT_LOGS_MATCH: 'error|oom',
      AGENT_LOGS_SPOOL: '512MB',
      AGENT_HTTP_PORT: '8080',
      AGENT_HTTP_BIND: '0.0.0.0',
      AGENT_HTTP_TOKEN: TOKEN,
      AGENT_DATA_DIR: '/data/agent/',
      AGENT_REQUEST_LIMIT: '10',
      AGENT_REQUEST_LIMIT_INTERVAL: '10s',
      AGENT_TAG_PREFIX: 'fa.',
      AGENT_BOOT_ID_PATH: '/tmp/boot_id',
      AGENT_CHECK_MY_API: 'http://127.0.0.1:3000/health',
      AGENT_CHECK_WORKER: 'https://worker.local/ok',
    });
    assert.equal(config.pollIntervalMs, 5_400_000);
    assert.equal(config.startSpreadMs, 0);
    assert.equal(config.report, false);
    assert.deepEqual(config.actions, ['reboot', 'purge', 'shutdown']);
    assert.equal(config.maxRebootsPerDay, 0);
    assert.equal(config.lockWaitMs, 0);
    assert.equal(config.rebootSchedule, '0 3 * * *');
    assert.equal(config.watchdog, 'all');
    assert.deepEqual(config.watchdogLadder, ['restart', 'reboot']);
    assert.equal(config.offlineRebootMs, 21_600_000);
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.logsForward, ['cloud', 'loki+http://10.0.0.5:3100/loki/api/v1/push']);
    assert.deepEqual(config.logsUnits, ['balena.service', 'kernel']);
    assert.equal(config.logsMatch, 'error|oom');
    assert.equal(config.logsSpoolBytes, 512 * 2 ** 20);
    assert.equal(config.httpPort, 8080);
    assert.equal(config.httpBind, '0.0.0.0');
    assert.equal(config.httpToken, TOKEN);
    assert.equal(config.dataDir, '/data/agent');
    assert.equal(config.requestLimit, 10);
    assert.equal(config.requestLimitIntervalMs, 10_000);
    assert.equal(config.tagPrefix, 'fa.');
    assert.equal(config.bootIdPath, '/tmp/boot_id');
    assert.deepEqual(config.checks, { 'my-api': 'http://127.0.0.1:3000/health', worker: 'https://worker.local/ok' });
  });
  it('accepts a watchdog list and off', () => {
    assert.deepEqual(loadConfig({ AGENT_WATCHDOG: 'main,api' }).watchdog, ['main', 'api']);
    assert.equal(loadConfig({ AGENT_WATCHDOG: 'off' }).watchdog, null);
    assert.deepEqual(loadConfig({ AGENT_ACTIONS: 'none' }).actions, []);
    assert.deepEqual([...COMMAND_NAMES], loadConfig({ AGENT_ACTIONS: COMMAND_NAMES.join(',') }).actions);
  });
  it('needs no token on loopback binds', () => {
    for (const bind of ['127.0.0.1', '127.0.0.53', '::1', 'localhost']) assert.equal(loadConfig({ AGENT_HTTP_BIND: bind }).httpBind, bind);
  });
});

describe('loadConfig problems', () => {
  it('reports every bad key at once, naming variable, value and what is expected', () => {
    const problems = problemsOf({
      AGENT_POLL_INTERVAL: '3s',
      AGENT_METRICS_INTERVAL: 'often',
      AGENT_REPORT: 'maybe',
      AGENT_ACTIONS: 'reboot,explode',
      AGENT_MAX_REBOOTS_PER_DAY: '101',
      AGENT_REBOOT_SCHEDULE: '0 25 * * *',
      AGENT_WATCHDOG_LADDER: 'restart,panic',
      AGENT_LOG_LEVEL: 'loud',
      AGENT_LOGS_FORWARD: 'syslog',
      AGENT_LOGS_MATCH: '(unclosed',
      AGENT_HTTP_PORT: '70000',
      AGENT_REQUEST_LIMIT: '0',
      AGENT_TAG_PREFIX: 'my prefix',
      AGENT_POLL_INTERVALL: '5m',
    });
    assert.deepEqual(problems, [
      'AGENT_POLL_INTERVAL="3s": must be at least 10s',
      'AGENT_METRICS_INTERVAL="often": must be a duration like 90s, 5m, 2h, 1d or 1h30m (a bare number is seconds), or off',
      'AGENT_REPORT="maybe": must be a boolean: 1/true/on/yes or 0/false/off/no',
      'AGENT_ACTIONS="reboot,explode": unknown command "explode"; expected a comma list of reboot, shutdown, restart, restart-service, stop-service, start-service, purge, identify, update',
      'AGENT_MAX_REBOOTS_PER_DAY="101": must be a whole number from 0 to 100',
      'AGENT_REBOOT_SCHEDULE="0 25 * * *": must be a cron expression like "0 3 * * *", or off (Invalid value for hour: 25)',
      'AGENT_WATCHDOG_LADDER="restart,panic": unknown step "panic"; expected a comma list of restart-service, restart, reboot',
      'AGENT_LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent',
      'AGENT_LOGS_FORWARD="syslog": sink "syslog" is not cloud, loki+http(s)://… or http(s)://…',
      'AGENT_LOGS_MATCH="(unclosed": must be a valid regular expression (Invalid regular expression: /(unclosed/: Unterminated group)',
      'AGENT_HTTP_PORT="70000": must be a whole number from 1 to 65535',
      'AGENT_REQUEST_LIMIT="0": must be a whole number from 1 to 100000',
      'AGENT_TAG_PREFIX="my prefix": must be 1 to 50 characters without spaces',
      'unknown setting AGENT_POLL_INTERVALL; did you mean AGENT_POLL_INTERVAL?',
    ]);
  });
  it('a list of nothing but commas is an error saying to use none, never a silent "no commands"', () => {
    assert.deepEqual(problemsOf({ AGENT_ACTIONS: ',,', AGENT_WATCHDOG_LADDER: ' , ', AGENT_POLL_INTERVAL: '1s' }), [
      'AGENT_POLL_INTERVAL="1s": must be at least 10s',
      'AGENT_ACTIONS=",,": names no command; use none for no commands, or a comma list of reboot, shutdown, restart, restart-service, stop-service, start-service, purge, identify, update',
      'AGENT_WATCHDOG_LADDER=",": must list at least one of restart-service, restart, reboot',
    ]);
  });
  it('puts every problem in the error message too', () => {
    assert.throws(() => loadConfig({ AGENT_POLL_INTERVAL: 'x', AGENT_LOCK_WAIT: 'y' }), (err: Error) =>
      err.message.startsWith('2 problems:') && err.message.includes('AGENT_POLL_INTERVAL') && err.message.includes('AGENT_LOCK_WAIT'));
  });
  it('truncates long values', () => {
    const [problem] = problemsOf({ AGENT_LOG_LEVEL: 'x'.repeat(10_000) });
    assert.ok(problem !== undefined && problem.length < 200, problem);
    assert.match(problem, /^AGENT_LOG_LEVEL="x+…": must be one of/);
  });
  it('requires a token beyond loopback, along with the other problems', () => {
    assert.deepEqual(problemsOf({ AGENT_HTTP_BIND: '0.0.0.0', AGENT_LOCK_WAIT: 'forever' }), [
      'AGENT_LOCK_WAIT="forever": must be a duration like 90s, 5m, 2h, 1d or 1h30m (a bare number is seconds)',
      'AGENT_HTTP_TOKEN is required when AGENT_HTTP_BIND="0.0.0.0" is not a loopback address (127.0.0.1, ::1, localhost)',
    ]);
    assert.equal(loadConfig({ AGENT_HTTP_BIND: '::', AGENT_HTTP_TOKEN: TOKEN }).httpToken, TOKEN);
  });
  it('never echoes the token', () => {
    for (const token of ['s3cr7', 'has spaces but long enough']) {
      const problems = problemsOf({ AGENT_HTTP_BIND: '0.0.0.0', AGENT_HTTP_TOKEN: token, AGENT_POLL_INTERVAL: '1s' });
      assert.ok(problems.includes('AGENT_HTTP_TOKEN (value hidden): must be at least 8 characters without spaces'), problems.join('\n'));
      assert.equal(problems.length, 2);
      for (const p of problems) assert.ok(!p.includes(token), p);
    }
  });
  it('checks AGENT_CHECK_* values and names, and never calls them unknown', () => {
    assert.deepEqual(problemsOf({ AGENT_CHECK_API: 'not a url', AGENT_CHECK_: 'http://x/', AGENT_CHECK_OK: 'http://x/' }), [
      'AGENT_CHECK_: the variable must name a service, like AGENT_CHECK_MY_API',
      'AGENT_CHECK_API="not a url": must be an http(s) URL',
    ]);
    assert.deepEqual(loadConfig({ AGENT_CHECK_EMPTY: '' }).checks, {});
  });
  it('hides credentials of sink URLs', () => {
    const [problem] = problemsOf({ AGENT_LOGS_FORWARD: 'loki+ftp://admin:pa55word@logs/' });
    assert.ok(problem !== undefined && !problem.includes('pa55word'), problem);
  });
  it('refuses a misspelt AGENT_ variable, but leaves other services\' AGENT_ variables alone', () => {
    assert.deepEqual(problemsOf({ AGENT_WATCHDOG_LADER: 'reboot', AGENT_FOO: '1', AGENT_CHECK_X: 'http://x/' }), [
      'unknown setting AGENT_WATCHDOG_LADER; did you mean AGENT_WATCHDOG_LADDER?',
    ]);
    assert.equal(loadConfig({ AGENT_NAME: 'kiosk-7', AGENT_COLOUR: 'blue' }).pollIntervalMs, 300_000);
  });
  it('finds the closest name', () => {
    assert.equal(closest('AGENT_REPROT', ['AGENT_REPORT', 'AGENT_WATCHDOG']), 'AGENT_REPORT');
    assert.equal(closest('SOMETHING_ELSE', ['AGENT_REPORT']), undefined);
  });
});

describe('maintenance window and fleet commands settings', () => {
  it('reads a window list, off, and fleet commands on or off', () => {
    const config = loadConfig({ AGENT_MAINTENANCE_WINDOW: 'Mon-Fri 02:00-05:00; Sat,Sun 00:00-06:00', AGENT_FLEET_COMMANDS: 'off', TZ: 'Europe/Berlin' });
    assert.deepEqual(config.maintenanceWindow, [{ days: [0, 1, 2, 3, 4], start: 120, end: 300 }, { days: [5, 6], start: 0, end: 360 }]);
    assert.equal(config.fleetCommands, false);
    assert.equal(config.timeZone, 'Europe/Berlin');
    assert.ok(Object.isFrozen(config.maintenanceWindow));
    assert.equal(loadConfig({ AGENT_MAINTENANCE_WINDOW: 'off' }).maintenanceWindow, null);
    assert.equal(loadConfig({ AGENT_FLEET_COMMANDS: 'on' }).fleetCommands, true);
  });
  it('refuses bad values together with every other bad key (exit 2)', () => {
    const env = { AGENT_MAINTENANCE_WINDOW: 'Mon-Fri 05:00-05:00', AGENT_FLEET_COMMANDS: 'sometimes', TZ: 'Mars/Olympus', AGENT_POLL_INTERVAL: '1s' };
    assert.deepEqual(problemsOf(env), [
      'AGENT_POLL_INTERVAL="1s": must be at least 10s',
      'AGENT_MAINTENANCE_WINDOW="Mon-Fri 05:00-05:00": start and end are equal: a window must have a length (the whole day is 00:00-24:00)',
      'AGENT_FLEET_COMMANDS="sometimes": must be a boolean: 1/true/on/yes or 0/false/off/no',
      'TZ="Mars/Olympus": must be an IANA time zone such as Europe/Berlin or UTC (unknown zone)',
    ]);
    assert.throws(() => loadConfig(env), (err) => exitCodeFor(err) === 2);
  });
  it('names each bad window of a list', () => {
    assert.deepEqual(problemsOf({ AGENT_MAINTENANCE_WINDOW: 'Mon 01:00-02:00; Sun-Fry 01:00-02:00' }), [
      'AGENT_MAINTENANCE_WINDOW="Mon 01:00-02:00; Sun-Fry 01:00-02:00": window 2 "Sun-Fry 01:00-02:00": unknown day "Fry"; days are Mon, Tue, Wed, Thu, Fri, Sat, Sun (or full names), ranges like Mon-Fri, or daily',
    ]);
  });
  it('suggests the right name for a misspelt variable', () => {
    assert.deepEqual(problemsOf({ AGENT_MAINTENANCE_WINDOWS: 'daily 02:00-03:00' }), ['unknown setting AGENT_MAINTENANCE_WINDOWS; did you mean AGENT_MAINTENANCE_WINDOW?']);
  });
});
