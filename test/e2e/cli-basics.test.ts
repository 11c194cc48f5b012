import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startHttpServer, type Healthz } from '../../src/http/server.js';
import { HEALTHCHECK, runCli, runScript } from '../helpers/cli.js';

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

  it('health follows the running agent\'s /healthz: degraded exits 0 with reasons, failing exits 1', async () => {
    let health: Healthz = { ok: true, state: 'degraded', reasons: ['cloud unreachable (no good poll for 2 intervals)'] };
    const server = await startHttpServer({ port: 0, bind: '127.0.0.1', token: null, healthz: () => health, status: () => ({}) });
    try {
      const env = { AGENT_HTTP_PORT: String(server.port) };
      const [degraded, degradedJson] = await Promise.all([runCli(['health'], env), runCli(['health', '--json'], env)]);
      assert.equal(degraded.code, 0);
      assert.equal(degraded.stdout.trim(), 'degraded: cloud unreachable (no good poll for 2 intervals)');
      assert.equal((JSON.parse(degradedJson.stdout) as { ok: boolean }).ok, true, 'as /healthz: degraded still works');
      health = { ok: false, state: 'failing', reasons: ['journal not writable'] };
      const failing = await runCli(['health', '--json'], env);
      assert.equal(failing.code, 1);
      assert.deepEqual(JSON.parse(failing.stdout), { ok: false, state: 'failing', reasons: ['journal not writable'] });
    } finally {
      await server.close();
    }
  });

  it('the image\'s HEALTHCHECK probe: 0 for ok and degraded, 1 for failing, unreachable or bad settings (never 2, which Docker reserves)', async () => {
    let health: Healthz = { ok: true, state: 'degraded', reasons: ['cloud unreachable'] };
    const server = await startHttpServer({ port: 0, bind: '127.0.0.1', token: null, healthz: () => health, status: () => ({}) });
    try {
      const env = { AGENT_HTTP_PORT: String(server.port) };
      const degraded = await runScript(HEALTHCHECK, [], env);
      assert.deepEqual([degraded.code, degraded.stdout], [0, 'degraded: cloud unreachable\n']);
      health = { ok: true, state: 'ok', reasons: [] };
      assert.deepEqual([(await runScript(HEALTHCHECK, [], env)).stdout], ['ok\n']);
      health = { ok: false, state: 'failing', reasons: ['journal not writable'] };
      const failing = await runScript(HEALTHCHECK, [], env);
      assert.deepEqual([failing.code, failing.stdout], [1, 'failing: journal not writable\n']);
      const [bad, none] = await Promise.all([runScript(HEALTHCHECK, [], { AGENT_HTTP_PORT: '0' }), runScript(HEALTHCHECK, [], { AGENT_HTTP_PORT: '1' })]);
      assert.deepEqual([bad.code, bad.stdout], [1, 'misconfigured: AGENT_HTTP_PORT="0": must be a whole number from 1 to 65535\n']);
      assert.equal(none.code, 1);
      assert.match(none.stdout, /^unreachable: no agent answers on 127\.0\.0\.1:1 \(ECONNREFUSED\)$/m);
    } finally {
      await server.close();
    }
  });

  it('doctor without the balena-api label: names the missing variables and the label that provides them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'doctor-env-'));
    try {
      const res = await runCli(['doctor', '--json'], { BALENA_APP_ID: 'seven', BALENA_DEVICE_UUID: 'abc', AGENT_DATA_DIR: dataDir });
      const doc = JSON.parse(res.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; message: string; fix?: string }> };
      const env = doc.checks.find((c) => c.name === 'environment');
      assert.equal(env?.status, 'fail');
      assert.equal(env?.message, 'missing BALENA_SUPERVISOR_ADDRESS, BALENA_SUPERVISOR_API_KEY, BALENA_API_URL, BALENA_API_KEY; BALENA_APP_ID must be a number, got "seven"');
      assert.match(env?.fix ?? '', /BALENA_API_URL, BALENA_API_KEY: add the label io\.balena\.features\.balena-api: '1'/);
      assert.equal(doc.ok, false);
      assert.notEqual(res.code, 0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('demo where the simulators are not installed (the device image) says where the demo lives', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'image-like-'));
    try {
      const dist = fileURLToPath(new URL('../../src/', import.meta.url));
      await cp(dist, join(dir, 'dist', 'src'), { recursive: true, filter: (src) => !src.startsWith(join(dist, 'sim')) });
      const res = await runScript(join(dir, 'dist', 'src', 'main.js'), ['demo'], {});
      assert.equal(res.code, 1);
      assert.match(res.stderr, /^fleet-agent: the demo is not part of this installation \(the device image leaves the simulators out\); run it from a source checkout with `npm install && npm start`$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unknown command exits 2 and says how to get help', async () => {
    const res = await runCli(['rebot'], {});
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command "rebot"; did you mean reboot\?; run fleet-agent --help/);
    const far = await runCli(['frobnicate'], {});
    assert.match(far.stderr, /unknown command "frobnicate"; run fleet-agent --help/);
    const [short, swapped] = await Promise.all([runCli(['bogus'], {}), runCli(['tgas'], {})]);
    assert.equal(short.stderr.trim(), 'fleet-agent: unknown command "bogus"; run fleet-agent --help', 'a short word two edits away is no typo');
    assert.match(swapped.stderr, /did you mean tags\?/, 'two swapped letters are one edit');
  });
});
