/**
 * CPU time of one metrics sample with the device's own source (systeminformation for CPU usage
 * and memory, statfs and sysfs for the rest), measured in this process: the first sample (which
 * loads systeminformation) apart, then the mean of N more. Goal: <= 20 ms per sample.
 */
import { tmpdir } from 'node:os';
import { systemClock } from '../src/lib/clock.js';
import { Sampler, systemSource } from '../src/metrics/sampler.js';

const N = Number(process.argv[process.argv.indexOf('--samples') + 1]) || 200;
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};
const sampler = new Sampler({ source: systemSource(), clock: systemClock, log: { warn: () => undefined }, dataDir: tmpdir() });

let start = process.cpuUsage();
const rssBefore = process.memoryUsage.rss();
const first = await sampler.sample();
const firstMs = cpuMs(start);
const rssAfterFirst = process.memoryUsage.rss();
start = process.cpuUsage();
for (let i = 0; i < N; i++) await sampler.sample();
const perSample = cpuMs(start) / N;

console.log(`metrics samples on this machine (Node ${process.versions.node}; values it gives: ${Object.keys(first.cpu).join(', ')}, memory, ${first.filesystems.length} filesystem${first.power.undervoltage === undefined ? ', no firmware power bits' : ', firmware power bits'})`);
console.log('| measure | value | goal |');
console.log('|---|---|---|');
console.log(`| first sample | ${firstMs.toFixed(1)} ms CPU, +${((rssAfterFirst - rssBefore) / 2 ** 20).toFixed(1)} MiB RSS | - |`);
console.log(`| each later sample (mean of ${N}) | ${perSample.toFixed(2)} ms CPU | <= 20 ms |`);
process.exitCode = perSample <= 20 ? 0 : 1;
