import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/lib/clock.js';
import { UnderVoltageCounter } from '../../src/metrics/kernel-events.js';
import { parseMeminfo, parseProcStat, Sampler, systemSource, THROTTLED_PATHS } from '../../src/metrics/sampler.js';
import { scriptedSource, steadyValues } from '../helpers/metrics-source.js';

function sampler(values = steadyValues(), events?: () => number | undefined) {
  const warnings: string[] = [];
  const s = new Sampler({
    source: scriptedSource(values), clock: new ManualClock(), dataDir: '/data',
    log: { warn: (_o: unknown, msg?: string) => void warnings.push(msg ?? '') },
    ...(events ? { underVoltageEvents: events } : {}),
  });
  return { s, warnings, values };
}

describe('sampler', () => {
  it('takes every value the source gives, and no power fields on a board without firmware bits', async () => {
    const { s } = sampler();
    const sample = await s.sample();
    assert.deepEqual(sample.cpu, { usageRatio: 0.23, load1: 0.4, temperatureCelsius: 52.5 });
    assert.equal(sample.memory.totalBytes, 1_000_000_000);
    assert.deepEqual(sample.filesystems.map((f) => f.mountpoint), ['/data']);
    assert.deepEqual(sample.power, {});
    assert.equal(s.last, sample);
  });

  it('leaves a failing probe\'s value out and says why once, never throwing', async () => {
    const { s, warnings, values } = sampler();
    values.failing = ['temperature', 'memory'];
    for (let i = 0; i < 3; i++) {
      const sample = await s.sample();
      assert.equal(sample.cpu.temperatureCelsius, undefined);
      assert.deepEqual(sample.memory, {});
      assert.equal(sample.cpu.usageRatio, 0.23);
    }
    assert.equal(warnings.length, 2, warnings.join('\n'));
  });

  it('reads the firmware bits and the kernel events', async () => {
    const { s } = sampler({ ...steadyValues(), throttled: '50005\n' }, () => 4);
    assert.deepEqual((await s.sample()).power, { undervoltage: true, throttled: true, undervoltageSinceBoot: true, throttledSinceBoot: true, undervoltageEvents: 4 });
  });

  it('a throttled text it cannot read is left out, not guessed', async () => {
    const { s, warnings } = sampler({ ...steadyValues(), throttled: 'error=2 error_msg="Command not registered"' });
    assert.deepEqual((await s.sample()).power, {});
    assert.equal(warnings.length, 1);
  });
});

describe('systemSource: the kernel\'s files', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sysfs-'));
    const throttled = join(root, THROTTLED_PATHS[0]!);
    await mkdir(join(throttled, '..'), { recursive: true });
    await writeFile(throttled, '50000\n');
    await mkdir(join(root, 'sys/class/thermal/thermal_zone0'), { recursive: true });
    await writeFile(join(root, 'sys/class/thermal/thermal_zone0/temp'), '48312\n');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('reads the temperature and the throttled word from sysfs, the filesystem with statfs', async () => {
    const source = systemSource({ root });
    assert.equal(await source.temperature(), 48.312);
    assert.equal(await source.throttled(), '50000\n');
    const fs = await source.filesystem(root);
    assert.ok(fs && fs.sizeBytes > 0 && fs.freeBytes <= fs.sizeBytes);
  });

  it('gives nothing on a board without them', async () => {
    const source = systemSource({ root: join(root, 'nothing-here') });
    assert.equal(await source.temperature(), undefined);
    assert.equal(await source.throttled(), undefined);
  });

  it('takes CPU usage between two samples from /proc/stat and memory from /proc/meminfo', async () => {
    await mkdir(join(root, 'proc'), { recursive: true });
    await writeFile(join(root, 'proc/meminfo'), 'MemTotal:        3884096 kB\nMemFree:          211112 kB\nMemAvailable:    2516328 kB\n');
    await writeFile(join(root, 'proc/stat'), 'cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n');
    const source = systemSource({ root });
    assert.deepEqual(await source.memory(), { totalBytes: 3884096 * 1024, availableBytes: 2516328 * 1024 });
    assert.equal(await source.cpuUsage(), 0.2, 'the first reading: the average since boot');
    // 100 more jiffies: 30 busy (user 20, system 10), 70 idle or waiting.
    await writeFile(join(root, 'proc/stat'), 'cpu  120 0 110 760 110 0 0 0 0 0\n');
    assert.equal(await source.cpuUsage(), 0.3);
  });

  it('reads /proc as the kernel writes it (recorded on a Raspberry Pi 4)', () => {
    assert.deepEqual(parseProcStat('cpu  41094 1063 21394 3125587 2541 0 1101 0 0 0\ncpu0 10335 240 5601 780706 622 0 893 0 0 0\n'), { busy: 41094 + 1063 + 21394 + 1101, total: 41094 + 1063 + 21394 + 3125587 + 2541 + 1101 });
    assert.equal(parseProcStat('intr 1 2 3\n'), undefined);
    assert.equal(parseMeminfo('MemTotal:        3884096 kB\n'), undefined, 'a kernel without MemAvailable gives no memory value');
  });

  it('falls back to systeminformation where the kernel\'s files are not there', async () => {
    const source = systemSource({ root: join(root, 'nothing-here') });
    const mem = await source.memory();
    assert.ok(mem && mem.totalBytes > 0 && mem.availableBytes <= mem.totalBytes);
    const usage = await source.cpuUsage();
    assert.ok(usage !== undefined && usage >= 0 && usage <= 1);
  });
});

describe('kernel under-voltage counter', () => {
  const line = (us: number, message: string, boot = 'abcdef0123456789abcdef0123456789') =>
    JSON.stringify({ __REALTIME_TIMESTAMP: String(us), MESSAGE: message, SYSLOG_IDENTIFIER: 'kernel', _TRANSPORT: 'kernel', _BOOT_ID: boot });

  it('counts this boot\'s lines once, across a reopened stream', async () => {
    let opened = 0;
    const batches = [
      [line(1, 'Booting Linux'), line(2, 'Under-voltage detected! (0x00050005)'), line(3, 'Under-voltage detected! (0x00050005)', 'ffff0000ffff0000ffff0000ffff0000')],
      // Reopened: the backlog repeats what was read, then one new event.
      [line(1, 'Booting Linux'), line(2, 'Under-voltage detected! (0x00050005)'), line(4, 'Voltage normalised'), line(5, 'Under-voltage detected! (0x00050005)')],
    ];
    const counter = new UnderVoltageCounter({
      bootId: 'abcdef01-2345-6789-abcd-ef0123456789',
      journal: (opts) => {
        assert.equal(opts.containerId, 'kernel');
        assert.equal(opts.follow, true);
        return batches[opened++] ?? [];
      },
    });
    assert.equal(counter.events, undefined);
    await counter.run(new AbortController().signal);
    assert.equal(counter.events, 1);
    await counter.run(new AbortController().signal);
    assert.equal(counter.events, 2);
  });
});
