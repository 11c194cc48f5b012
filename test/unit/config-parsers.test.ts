import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatDuration,
  formatSize,
  parseAbsolutePath,
  parseBoolean,
  parseCron,
  parseDuration,
  parseEnum,
  parseEnumList,
  parseHttpUrl,
  parseList,
  parseNameList,
  parseOptionalDuration,
  parseRegex,
  parseSinks,
  parseSize,
  parseTagPrefix,
} from '../../src/config/parsers.js';
import { isLoopback, parseBindAddress, parseInteger, parsePort, parseToken } from '../../src/config/net.js';

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['500ms', 500], ['90s', 90_000], ['5m', 300_000], ['2h', 7_200_000], ['1d', 86_400_000],
    ['1h30m', 5_400_000], ['1m30s', 90_000], ['1.5h', 5_400_000], ['30', 30_000], ['0', 0],
    [' 10S ', 10_000], ['2H', 7_200_000], ['1d2h', 93_600_000],
  ];
  for (const [raw, ms] of good) {
    it(`reads ${JSON.stringify(raw)} as ${ms} ms`, () => assert.equal(parseDuration(raw), ms));
  }
  for (const raw of ['', '5 m', '5min', 'm', '-5s', '5w', 'abc', '1h 30m', '1.s']) {
    it(`rejects ${JSON.stringify(raw)} saying what is expected`, () => {
      assert.throws(() => parseDuration(raw), /must be a duration like 90s, 5m/);
    });
  }
  it('enforces minimum and maximum', () => {
    assert.throws(() => parseDuration('3s', { min: 10_000 }), { message: 'must be at least 10s' });
    assert.equal(parseDuration('10s', { min: 10_000 }), 10_000);
    assert.throws(() => parseDuration('2d', { max: 86_400_000 }), { message: 'must be at most 1d' });
    assert.throws(() => parseDuration('25d'), { message: 'must be at most 24d' });
  });
  it('formats durations back to text that parses to the same value', () => {
    for (const ms of [0, 500, 10_000, 60_000, 300_000, 5_400_000, 86_400_000, 93_600_500]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(300_000), '5m');
  });
});

describe('parseOptionalDuration', () => {
  it('reads off, none, 0 and empty as null', () => {
    for (const raw of ['off', 'OFF', 'none', '0', '']) assert.equal(parseOptionalDuration(raw), null);
  });
  it('reads a duration and enforces its minimum', () => {
    assert.equal(parseOptionalDuration('6h', { min: 600_000 }), 21_600_000);
    assert.throws(() => parseOptionalDuration('5m', { min: 600_000 }), { message: 'must be at least 10m, or off' });
    assert.throws(() => parseOptionalDuration('soon'), /or off$/);
  });
});

describe('parseBoolean', () => {
  it('reads the true and false words, case-insensitive', () => {
    for (const raw of ['1', 'true', 'TRUE', 'on', 'On', 'yes', ' yes ']) assert.equal(parseBoolean(raw), true);
    for (const raw of ['0', 'false', 'False', 'off', 'OFF', 'no']) assert.equal(parseBoolean(raw), false);
  });
  it('rejects anything else', () => {
    for (const raw of ['', '2', 'enabled', 'y', 'nope']) {
      assert.throws(() => parseBoolean(raw), { message: 'must be a boolean: 1/true/on/yes or 0/false/off/no' });
    }
  });
});

describe('parseInteger and parsePort', () => {
  it('reads whole numbers within range', () => {
    assert.equal(parseInteger('0', 0, 100), 0);
    assert.equal(parseInteger(' 100 ', 0, 100), 100);
    assert.equal(parsePort('1'), 1);
    assert.equal(parsePort('65535'), 65_535);
  });
  it('rejects out of range, decimals and words', () => {
    for (const raw of ['101', '-1', '1.5', 'three', '']) {
      assert.throws(() => parseInteger(raw, 0, 100), { message: 'must be a whole number from 0 to 100' });
    }
    for (const raw of ['0', '65536', '80a']) assert.throws(() => parsePort(raw), /from 1 to 65535/);
  });
});

describe('parseSize', () => {
  it('reads binary sizes', () => {
    assert.equal(parseSize('64MB'), 64 * 2 ** 20);
    assert.equal(parseSize('512KB'), 512 * 1024);
    assert.equal(parseSize('1GB'), 2 ** 30);
    assert.equal(parseSize('1gib'), 2 ** 30);
    assert.equal(parseSize('2 M'), 2 * 2 ** 20);
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('1.5MB'), 1.5 * 2 ** 20);
  });
  it('rejects unknown units and enforces bounds', () => {
    for (const raw of ['64TB', 'MB', '', '-1MB', 'lots']) assert.throws(() => parseSize(raw), /must be a size like 512KB, 64MB or 1GB/);
    assert.throws(() => parseSize('512KB', { min: 2 ** 20 }), { message: 'must be at least 1MB' });
  });
  it('formats sizes in the largest exact unit', () => {
    assert.equal(formatSize(64 * 2 ** 20), '64MB');
    assert.equal(formatSize(1536), '1536B');
    assert.equal(formatSize(2 ** 30), '1GB');
  });
});

describe('lists', () => {
  it('splits, trims, drops empty items and deduplicates', () => {
    assert.deepEqual(parseList(' a, b ,,a , c,'), ['a', 'b', 'c']);
    assert.deepEqual(parseList(''), []);
  });
  it('checks enum lists and names the unknown item', () => {
    const allowed = ['reboot', 'purge'] as const;
    assert.deepEqual(parseEnumList('purge, reboot,purge', allowed, 'command'), ['purge', 'reboot']);
    assert.deepEqual(parseEnumList('none', allowed, 'command'), []);
    assert.throws(() => parseEnumList('reboot,explode', allowed, 'command'), /unknown command "explode"; expected a comma list of reboot, purge/);
  });
  it('checks names', () => {
    assert.deepEqual(parseNameList('main, my-api,worker_1', 'service'), ['main', 'my-api', 'worker_1']);
    assert.throws(() => parseNameList('main,bad name', 'service'), /"bad name" is not a valid service name/);
    assert.throws(() => parseNameList(' , ', 'service'), /must be a comma list of service names/);
  });
  it('reads one word of a fixed set', () => {
    assert.equal(parseEnum('DEBUG', ['info', 'debug'] as const), 'debug');
    assert.throws(() => parseEnum('verbose', ['info', 'debug'] as const), { message: 'must be one of info, debug' });
  });
});

describe('parseCron', () => {
  it('accepts valid expressions and off', () => {
    assert.equal(parseCron('0 3 * * *'), '0 3 * * *');
    assert.equal(parseCron(' 0  3 * * MON-FRI '), '0 3 * * MON-FRI');
    assert.equal(parseCron('0 0 3 * * *'), '0 0 3 * * *');
    assert.equal(parseCron('@daily'), '@daily');
    assert.equal(parseCron('off'), null);
    assert.equal(parseCron(''), null);
  });
  it("rejects invalid expressions with croner's reason", () => {
    assert.throws(() => parseCron('61 3 * * *'), /cron expression like "0 3 \* \* \*", or off \(Invalid value for minute: 61\)/);
    assert.throws(() => parseCron('every night'), /five or six space separated parts/);
    assert.throws(() => parseCron('* * *'), /must be a cron expression/);
  });
});

describe('parseRegex', () => {
  it('compiles and returns the source; none is null', () => {
    assert.equal(parseRegex('error|warn'), 'error|warn');
    assert.equal(parseRegex('none'), null);
  });
  it('rejects what does not compile', () => {
    assert.throws(() => parseRegex('(['), /must be a valid regular expression \(Invalid regular expression/);
    assert.throws(() => parseRegex('a'.repeat(1001)), /at most 1000 characters/);
  });
});

describe('URLs and sinks', () => {
  it('accepts http(s) URLs only', () => {
    assert.equal(parseHttpUrl('http://127.0.0.1:8080/health'), 'http://127.0.0.1:8080/health');
    for (const raw of ['ftp://x', 'localhost:80', '', 'http//x']) assert.throws(() => parseHttpUrl(raw), { message: 'must be an http(s) URL' });
  });
  it('accepts cloud, loki+http(s) and http(s) sinks; none is empty', () => {
    assert.deepEqual(parseSinks('cloud, loki+https://logs.example/loki/api/v1/push,http://10.0.0.2:9000/in'), [
      'cloud', 'loki+https://logs.example/loki/api/v1/push', 'http://10.0.0.2:9000/in',
    ]);
    assert.deepEqual(parseSinks('none'), []);
  });
  it('rejects other sinks without showing credentials', () => {
    assert.throws(() => parseSinks('cloud,syslog'), /sink "syslog" is not cloud, loki\+http\(s\):\/\/… or http\(s\):\/\/…/);
    assert.throws(
      () => parseSinks('loki+ftp://user:hunter22@host'),
      (err: Error) => !err.message.includes('hunter22') && err.message.includes('***@host'),
    );
  });
});

describe('bind address, loopback and token', () => {
  it('accepts IPv4, IPv6 and hostnames', () => {
    assert.equal(parseBindAddress('0.0.0.0'), '0.0.0.0');
    assert.equal(parseBindAddress('::'), '::');
    assert.equal(parseBindAddress('[::1]'), '::1');
    assert.equal(parseBindAddress('localhost'), 'localhost');
    assert.equal(parseBindAddress('agent.local'), 'agent.local');
  });
  it('rejects what is neither', () => {
    for (const raw of ['', 'http://x', '1.2.3.4:80', 'bad host', '-x']) {
      assert.throws(() => parseBindAddress(raw), { message: 'must be an IPv4 or IPv6 address or a hostname' });
    }
  });
  it('tells loopback from the rest', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'agent.local', '::ffff:10.0.0.1']) assert.equal(isLoopback(a), false, a);
  });
  it('accepts a token and never repeats a bad one', () => {
    assert.equal(parseToken('s3cret-token'), 's3cret-token');
    for (const raw of ['short', 'has a space in it']) {
      assert.throws(() => parseToken(raw), (err: Error) => err.message === 'must be at least 8 characters without spaces' && !err.message.includes(raw));
    }
  });
});

describe('paths and tag prefix', () => {
  it('accepts absolute paths, dropping a trailing slash', () => {
    assert.equal(parseAbsolutePath('/data/fleet-agent/'), '/data/fleet-agent');
    assert.equal(parseAbsolutePath('/'), '/');
    assert.throws(() => parseAbsolutePath('data/x'), { message: 'must be an absolute path' });
  });
  it('accepts a prefix without whitespace', () => {
    assert.equal(parseTagPrefix('fleet.'), 'fleet.');
    for (const raw of ['', '  ', 'my agent.', 'x'.repeat(51)]) assert.throws(() => parseTagPrefix(raw), /1 to 50 characters without spaces/);
  });
});
