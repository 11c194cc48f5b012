import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttpServer, type Healthz, type HttpServerHandle } from '../../src/http/server.js';

describe('local HTTP server', () => {
  let health: Healthz = { ok: true, state: 'ok', reasons: [] };
  let open: HttpServerHandle;
  let guarded: HttpServerHandle;
  const token = 'tok-0123456789abcdef';

  before(async () => {
    const common = {
      port: 0,
      bind: '127.0.0.1',
      healthz: () => health,
      status: () => ({ health: health.state, note: '<script>x</script>' }),
      metrics: () => Promise.resolve('fleet_agent_up 1\n'),
    };
    open = await startHttpServer({ ...common, token: null });
    guarded = await startHttpServer({ ...common, token });
  });
  after(async () => {
    await open.close();
    await guarded.close();
  });

  it('answers /healthz 200 when ok and 503 with reasons when not', async () => {
    health = { ok: true, state: 'ok', reasons: [] };
    assert.equal((await fetch(`${open.url}/healthz`)).status, 200);
    health = { ok: false, state: 'failing', reasons: ['supervisor unreachable'] };
    const res = await fetch(`${open.url}/healthz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), health);
  });

  it('serves /status as JSON, /metrics as Prometheus text and an escaped status page', async () => {
    const status = await fetch(`${open.url}/status`);
    assert.match(status.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(((await status.json()) as { note: string }).note, '<script>x</script>');
    assert.equal(await (await fetch(`${open.url}/metrics`)).text(), 'fleet_agent_up 1\n');
    const page = await (await fetch(`${open.url}/`)).text();
    assert.match(page, /fleet-agent/);
    assert.ok(!page.includes('<script>x</script>'), 'status text is escaped');
  });

  it('requires the bearer token when one is set, except /healthz from loopback', async () => {
    assert.equal((await fetch(`${guarded.url}/status`)).status, 401);
    assert.equal((await fetch(`${guarded.url}/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${guarded.url}/status`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    health = { ok: true, state: 'ok', reasons: [] };
    assert.equal((await fetch(`${guarded.url}/healthz`)).status, 200);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    assert.equal((await fetch(`${open.url}/nope`)).status, 404);
    assert.equal((await fetch(`${open.url}/status`, { method: 'POST' })).status, 405);
  });

  it('passes /healthz, /status and the page through its redactor', async () => {
    const key = 'server-key-0123456789SECRET';
    const echoing = await startHttpServer({
      port: 0, bind: '127.0.0.1', token: null,
      healthz: () => ({ ok: true, state: 'degraded', reasons: [`supervisor said ${key}`] }),
      status: () => ({ lastPoll: { error: `cloud answered 500: Bearer ${key}` }, [`k${key}`]: `?apikey=${key}&x` }),
      redact: (text) => text.split(key).join('[redacted]'),
    });
    try {
      for (const path of ['/healthz', '/status', '/']) {
        const text = await (await fetch(`${echoing.url}${path}`)).text();
        assert.ok(!text.includes(key), `${path}: ${text}`);
        assert.match(text, /\[redacted\]/, path);
      }
    } finally {
      await echoing.close();
    }
  });
});
