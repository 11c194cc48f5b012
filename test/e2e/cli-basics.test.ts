import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('fleet-agent basics (built CLI)', () => {
  it('--version and version print the package version', async () => {
    const [flag, command] = await Promise.all([runCli(['--version'], {}), runCli(['version', '--json'], {})]);
    assert.equal(flag.code, 0);
    assert.equal(flag.stdout.trim(), version);
    assert.deepEqual(JSON.parse(command.stdout), { version });
  });

  it('--help lists every command with the exit codes; no command is a usage error', async () => {
    const [help, none] = await Promise.all([runCli(['--help'], {}), runCli([], {})]);
    assert.equal(help.code, 0);
    for (const name of ['ping', 'reboot', 'purge', 'tags', 'env', 'doctor', 'run', 'health', 'demo']) {
      assert.match(help.stdout, new RegExp(`^  ${name}\\s`, 'm'));
    }
    assert.match(help.stdout, /4 refused by an update lock, 5 unauthorised/);
    assert.equal(none.code, 2);
  });

  it('an unknown command exits 2 and says how to get help', async () => {
    const res = await runCli(['rebot'], {});
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command "rebot"; run fleet-agent --help/);
  });
});
