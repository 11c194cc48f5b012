import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { probeHealth, probeLine } from '../../src/http/probe.js';
import { startHttpServer, type Healthz, type HttpServerHandle } from '../../src/http/server.js';

function listen<S extends Server | TcpServer>(server: S): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('health probe against real servers', () => {
  let health: Healthz = { ok: true, state: 'ok', reasons: [] };
  let agent: HttpServerHandle;
  const token = 'tok-0123456789abcdef';
  // Answers as the agent does and records the authorization header it was sent.
  const seenAuth: Array<string | undefined> = [];
  const recorder = createServer((req, res) => {
    seenAuth.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"state":"ok","reasons":[]}');
  });
  let recorderPort = 0;
  // Strangers on the port: each answers every request its own way.
  const strays = {
    unauthorised: createServer((_req, res) => res.writeHead(401).end('{"error":"unauthorised"}')),
    huge: createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"state":"ok","pad":"${'x'.repeat(100_000)}"}`)),
    other: createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html>not here</html>')),
  };
  const strayPorts = { unauthorised: 0, huge: 0, other: 0 };
  const sockets: Socket[] = [];
  const silent = createTcpServer((socket) => sockets.push(socket));
  let silentPort = 0;

  before(async () => {
    agent = await startHttpServer({ port: 0, bind: '127.0.0.1', token: null, healthz: () => health, status: () => ({}) });
    recorderPort = await listen(recorder);
    for (const key of ['unauthorised', 'huge', 'other'] as const) strayPorts[key] = await listen(strays[key]);
    silentPort = await listen(silent);
  });
  after(async () => {
    await agent.close();
    await new Promise((r) => recorder.close(r));
    for (const s of Object.values(strays)) await new Promise((r) => s.close(r));
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  const at = (port: number, extra: Record<string, string> = {}) => ({ AGENT_HTTP_PORT: String(port), ...extra });

  it('reads ok, degraded and failing with their reasons', async () => {
    health = { ok: true, state: 'ok', reasons: [] };
    assert.deepEqual(await probeHealth(at(agent.port)), { state: 'ok', reasons: [] });
    health = { ok: true, state: 'degraded', reasons: ['cloud unreachable'] };
    const degraded = await probeHealth(at(agent.port));
    assert.deepEqual(degraded, { state: 'degraded', reasons: ['cloud unreachable'] });
    assert.equal(probeLine(degraded), 'degraded: cloud unreachable');
    health = { ok: false, state: 'failing', reasons: ['journal not writable', 'stuck'] };
    assert.equal(probeLine(await probeHealth(at(agent.port))), 'failing: journal not writable; stuck');
  });

  it('sends the token as a bearer when it is set, and no authorization header when it is not', async () => {
    assert.equal((await probeHealth(at(recorderPort, { AGENT_HTTP_TOKEN: token }))).state, 'ok');
    assert.equal((await probeHealth(at(recorderPort))).state, 'ok');
    assert.deepEqual(seenAuth, [`Bearer ${token}`, undefined]);
  });

  it('says what is wrong when the port answers but not as the agent', async () => {
    const other = await probeHealth(at(strayPorts.other));
    assert.deepEqual(other, { state: 'unreachable', reasons: [`127.0.0.1:${strayPorts.other} answered HTTP 404, not the agent's /healthz`] });
    const refused = await probeHealth(at(strayPorts.unauthorised));
    assert.match(refused.reasons[0] ?? '', /refused the token \(HTTP 401\)/);
    const huge = await probeHealth(at(strayPorts.huge));
    assert.deepEqual(huge, { state: 'unreachable', reasons: [`no agent answers on 127.0.0.1:${strayPorts.huge} (reply larger than 65536 bytes)`] });
  });

  it('gives up on a socket that accepts and never answers, within its timeout', async () => {
    const started = Date.now();
    const result = await probeHealth(at(silentPort), 300);
    assert.deepEqual(result, { state: 'unreachable', reasons: [`no agent answers on 127.0.0.1:${silentPort} (no reply within 300 ms)`] });
    assert.ok(Date.now() - started < 5_000);
  });

  it('names a refused connection and settings the agent would refuse', async () => {
    const gone = createServer();
    const gonePort = await listen(gone);
    await new Promise((r) => gone.close(r));
    assert.deepEqual(await probeHealth(at(gonePort)), { state: 'unreachable', reasons: [`no agent answers on 127.0.0.1:${gonePort} (ECONNREFUSED)`] });
    const bad = await probeHealth({ AGENT_HTTP_PORT: 'eighty' });
    assert.equal(bad.state, 'misconfigured');
    assert.match(bad.reasons[0] ?? '', /^AGENT_HTTP_PORT="eighty": must be a whole number from 1 to 65535$/);
  });
});
