import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { MAIN, runScript, type CliResult } from '../helpers/cli.js';

/** Runs the built CLI with `stdin` piped in, and waits for it to exit. */
const runWithStdin = (args: readonly string[], stdin: string): Promise<CliResult> => runScript(MAIN, args, {}, undefined, stdin);

const A = 'b2c1e0e1f8c94f8c9b3d9a8f1c2e3d4f';
const B = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** The 1-based wave at 25 %, computed here from node:crypto. */
const wave25 = (uuid: string, token: string): number =>
  Number((createHash('sha256').update(`${uuid}:${token}`).digest().readBigUInt64BE(0) * 100n) / (25n * 2n ** 64n)) + 1;

describe('fleet-agent waves (built CLI, uuids piped on stdin)', () => {
  it('--json with --from: each device\'s wave and start as the devices compute them', async () => {
    const res = await runWithStdin(['waves', '--rollout', '25%/2h', '--token', 'ticket-42', '--from', '2030-01-01T00:00+00:00', '--json'], `${A}\n${B}\n`);
    assert.equal(res.code, 0, res.stderr);
    const rows = JSON.parse(res.stdout) as { uuid: string; wave: number; of: number; start: string; t0Source: string }[];
    const want = [A, B].map((uuid) => ({ uuid, wave: wave25(uuid, 'ticket-42') }));
    assert.deepEqual(
      rows.map((r) => ({ uuid: r.uuid, wave: r.wave })),
      want.sort((x, y) => x.wave - y.wave),
    );
    for (const r of rows) {
      assert.equal(r.of, 4);
      assert.equal(r.t0Source, 'from');
      assert.equal(Date.parse(r.start), Date.parse('2030-01-01T00:00Z') + (r.wave - 1) * 2 * 3_600_000);
    }
  });

  it('without --from the table says t0 is now; a bad line exits 2 naming its line', async () => {
    const [table, bad] = await Promise.all([
      runWithStdin(['waves', '--rollout', '10%/1h', '--token', '2026-12-05'], `${A}\n`),
      runWithStdin(['waves', '--rollout', '10%/1h', '--token', '2026-12-05'], `${A}\nnope\n`),
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^t0 = now, \d{4}-\d\d-\d\dT[\d:.]+Z \(no --from/m);
    assert.match(table.stdout, new RegExp(`^2/10 +\\S+Z +${A}$`, 'm'));
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^fleet-agent: line 2: "nope" is not a device uuid/m);
  });
});
