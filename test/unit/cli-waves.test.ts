import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/index.js';
import { readUuids, uuidProblem } from '../../src/cli/waves.js';
import { ManualClock } from '../../src/lib/clock.js';

const NOW = Date.parse('2026-12-02T14:00:00Z');
const A = 'b2c1e0e1f8c94f8c9b3d9a8f1c2e3d4f';
const B = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const C = '9b2f3c1a-4d5e-4f60-8a7b-1c2d3e4f5a6b';

/** The wave (0 first) at 10 %, computed here from node:crypto. */
const k10 = (uuid: string, token: string): number =>
  Number((createHash('sha256').update(`${uuid}:${token}`).digest().readBigUInt64BE(0) * 100n) / (10n * 2n ** 64n));

/** Runs the CLI in-process with `stdin` as standard input and the wall clock at NOW. */
async function waves(argv: string[], stdin: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli({
    env: {},
    argv,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    dispatcher: () => Promise.reject(new Error('waves needs no HTTP')),
    clock: new ManualClock(NOW),
    input: () => Readable.from([stdin]),
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

describe('fleet-agent waves', () => {
  it('the independent rule puts the three devices in waves 2, 8 and 4 of 10 for token 2026-12-05', () => {
    assert.deepEqual([A, B, C].map((u) => k10(u, '2026-12-05')), [1, 7, 3]);
  });

  it('prints a table ordered by wave, says t0 is now without --from, ignores blank lines and repeats', async () => {
    const res = await waves(['waves', '--rollout', '10%/1h', '--token', '2026-12-05'], `${A}\n\n  ${B}  \r\n${C}\n${A}\n`);
    assert.equal(res.code, 0);
    assert.deepEqual(res.err, []);
    assert.deepEqual(res.out, [
      'rollout 10%/1h in 10 waves, token 2026-12-05',
      't0 = now, 2026-12-02T14:00:00.000Z (no --from: each device counts from when it first sees the token, so its start may be later)',
      '',
      'wave  start (UTC)               uuid',
      `2/10  2026-12-02T15:00:00.000Z  ${A}`,
      `4/10  2026-12-02T17:00:00.000Z  ${C}`,
      `8/10  2026-12-02T21:00:00.000Z  ${B}`,
      '',
      '3 devices in 3 of 10 waves',
    ]);
  });

  it('--json prints an array with 1-based waves and starts from --from', async () => {
    const res = await waves(['waves', '--rollout', 'rollout=10%/30m', '--token', '2026-12-05', '--from', '2026-12-05T08:00Z', '--json'], `${B}\n${A}\n`);
    assert.equal(res.code, 0);
    const t0 = '2026-12-05T08:00:00.000Z';
    assert.deepEqual(JSON.parse(res.out.join('\n')), [
      { uuid: A, wave: 2, of: 10, start: '2026-12-05T08:30:00.000Z', t0, t0Source: 'from' },
      { uuid: B, wave: 8, of: 10, start: '2026-12-05T11:30:00.000Z', t0, t0Source: 'from' },
    ]);
  });

  it('a --from in the past means now, and the table says so', async () => {
    const res = await waves(['waves', '--rollout', '25%/1d', '--token', '2026-12-05', '--from', '2026-01-01T00:00Z'], `${A}\n`);
    assert.equal(res.code, 0);
    assert.equal(res.out[1], 't0 = now, 2026-12-02T14:00:00.000Z (--from is in the past, which means now)');
    assert.equal(res.out[4], `1/4   2026-12-02T14:00:00.000Z  ${A}`);
    assert.equal(res.out[6], '1 device in 1 of 4 waves');
  });

  it('100 % is one wave, said in the singular', async () => {
    const res = await waves(['waves', '--rollout', '100%/1h', '--token', '2026-12-05'], `${A}\n`);
    assert.deepEqual([res.code, res.out[0], res.out[6]], [0, 'rollout 100%/1h in 1 wave, token 2026-12-05', '1 device in 1 of 1 wave']);
  });

  it('a line that is not a uuid is reported with its line number on stderr; nothing is printed; exit 2', async () => {
    const res = await waves(['waves', '--rollout', '10%/1h', '--token', 't1', '--json'], `${A}\n\nnot-a-uuid\n${A.toUpperCase()}\n${A.slice(0, 7)}\n`);
    assert.equal(res.code, 2);
    assert.deepEqual(res.out, []);
    assert.deepEqual(res.err, [
      'fleet-agent: line 3: "not-a-uuid" is not a device uuid (32 or 62 lowercase hex characters, or the 8-4-4-4-12 form)',
      `fleet-agent: line 4: "${A.toUpperCase()}" has capitals; a device hashes its uuid in lowercase, as balena writes it`,
      `fleet-agent: line 5: "${A.slice(0, 7)}" is a short uuid; the wave needs the full uuid (32 or 62 hex characters)`,
      'fleet-agent: 3 bad lines; nothing printed',
    ]);
  });

  const usage: [string, string[], string, string][] = [
    ['no --rollout', ['--token', 't'], A, 'fleet-agent: --rollout is required, e.g. --rollout 10%/1h'],
    ['no --token', ['--rollout', '10%/1h'], A, 'fleet-agent: --token is required: the token of the fleet command'],
    ['a bad rollout', ['--rollout', '0%/1h', '--token', 't'], A, 'fleet-agent: --rollout 0%/1h: the percent must be between 0 (excluded) and 100'],
    ['a bad period', ['--rollout', '10%/60', '--token', 't'], A, 'fleet-agent: --rollout 10%/60: the period needs a unit: 60s, 60m, 60h or 60d'],
    ['a local --from', ['--rollout', '10%/1h', '--token', 't', '--from', '2026-12-05T08:00'], A, 'fleet-agent: --from 2026-12-05T08:00: must be UTC: end the time in Z or +00:00'],
    ['a reserved token', ['--rollout', '10%/1h', '--token', 'abort'], A, 'fleet-agent: --token "abort": a token is 1–64 letters, digits and . _ : - (not force, now or abort)'],
    ['no uuids', ['--rollout', '10%/1h', '--token', 't'], '\n\n', 'fleet-agent: no device uuids on stdin (one per line)'],
  ];
  for (const [name, argv, stdin, message] of usage) {
    it(`${name} is a usage error (exit 2) that says what to give`, async () => {
      const res = await waves(['waves', ...argv], stdin);
      assert.deepEqual([res.code, res.out, res.err], [2, [], [message]]);
    });
  }

  it('--help lists waves; waves --help prints its usage', async () => {
    const help = await waves(['--help'], '');
    assert.match(help.out.join('\n'), /^ {2}waves\s+which wave and start time each device \(uuids on stdin\) gets/m);
    const own = await waves(['waves', '--help'], '');
    assert.equal(own.code, 0);
    assert.match(own.out.join('\n'), /^usage: fleet-agent waves --rollout <percent>%\/<period> --token <token> \[--from <UTC time>\] \[--json\]/);
  });

  it('uuidProblem and readUuids: the accepted forms, line numbers counted with blank lines', () => {
    for (const ok of [A, C, 'a'.repeat(62)]) assert.equal(uuidProblem(ok), null, ok);
    for (const bad of ['a'.repeat(31), 'a'.repeat(33), 'g'.repeat(32), `${A} extra`]) assert.notEqual(uuidProblem(bad), null, bad);
    assert.deepEqual(readUuids(`\n${A}\nxyz\n\n${A}\n${B}`), {
      uuids: [A, B],
      problems: ['line 3: "xyz" is not a device uuid (32 or 62 lowercase hex characters, or the 8-4-4-4-12 form)'],
    });
  });
});
