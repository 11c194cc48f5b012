import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, MockAgent, errors as undiciErrors } from 'undici';
import { BadResponseError, UnreachableError } from '../../src/lib/errors.js';
import { joinUrl, networkError, parseJson, redactUrl, send, type HttpTarget } from '../../src/lib/http.js';
import { nodeCommand, PATIENCE } from '../helpers/cli.js';

const KEY = 'httpkey0123456789SECRET';
const ORIGIN = 'http://peer.test:1234';

function mockTarget(extra: Partial<HttpTarget> = {}): { target: HttpTarget; agent: MockAgent } {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return { agent, target: { peer: 'supervisor', baseUrl: ORIGIN, timeoutMs: 2_000, dispatcher: agent, ...extra } };
}

/** A raw TCP server on 127.0.0.1 port 0 that does `onRequest` with each socket once a request arrives. */
async function tcpServer(onRequest: (socket: Socket) => void): Promise<{ server: Server; url: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => onRequest(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}`, sockets };
}

async function closeServer(s: { server: Server; sockets: Set<Socket> }): Promise<void> {
  for (const socket of s.sockets) socket.destroy();
  await new Promise<void>((resolve) => s.server.close(() => resolve()));
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return assert.fail('expected a rejection');
}

describe('send', () => {
  const dispatchers: Agent[] = [];
  after(async () => {
    await Promise.all(dispatchers.map((d) => d.close()));
  });

  it('sends JSON with its content type under the base path and returns status, lower-case headers and text', async () => {
    const { agent, target } = mockTarget({ baseUrl: `${ORIGIN}/base/` });
    let seen: { path: string; body: unknown; type: unknown } | undefined;
    agent
      .get(ORIGIN)
      .intercept({ path: '/base/v1/x?a=1', method: 'POST' })
      .reply((opts) => {
        const headers = opts.headers as Record<string, string>;
        seen = { path: opts.path, body: typeof opts.body === 'string' ? JSON.parse(opts.body) : undefined, type: headers['content-type'] };
        return { statusCode: 201, data: 'made', responseOptions: { headers: { 'X-Thing': 'yes' } } };
      });
    const reply = await send(target, { method: 'POST', path: '/v1/x?a=1', json: { force: true } });
    assert.deepEqual(seen, { path: '/base/v1/x?a=1', body: { force: true }, type: 'application/json' });
    assert.equal(reply.status, 201);
    assert.equal(reply.text, 'made');
    assert.equal(reply.headers['x-thing'], 'yes');
    await agent.close();
  });

  it('refuses a reply larger than maxBodyBytes (TOO_LARGE)', async () => {
    const { agent, target } = mockTarget({ maxBodyBytes: 10 });
    agent.get(ORIGIN).intercept({ path: '/big', method: 'GET' }).reply(200, 'x'.repeat(100));
    const err = await caught(send(target, { method: 'GET', path: '/big' }));
    assert.ok(err instanceof BadResponseError);
    assert.equal(err.code, 'TOO_LARGE');
    await agent.close();
  });

  it('a reply cut off mid-body is BAD_RESPONSE, without the key', async () => {
    const cut = await tcpServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"sta', () => socket.destroy());
    });
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    try {
      const err = await caught(send({ peer: 'supervisor', baseUrl: cut.url, timeoutMs: 5_000, dispatcher }, { method: 'GET', path: `/v2/version?apikey=${KEY}` }));
      assert.ok(err instanceof BadResponseError, String(err));
      assert.equal(err.code, 'BAD_RESPONSE');
      assert.match(err.message, /reply to GET \/v2\/version was cut off/);
      assert.ok(!err.message.includes(KEY));
    } finally {
      await closeServer(cut);
    }
  });

  it('no answer within the timeout is TIMEOUT, and the request may have arrived', async () => {
    const silent = await tcpServer(() => undefined);
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    try {
      const err = await caught(send({ peer: 'supervisor', baseUrl: silent.url, timeoutMs: 150, dispatcher }, { method: 'POST', path: `/v1/reboot?apikey=${KEY}`, json: {} }));
      assert.ok(err instanceof UnreachableError, String(err));
      assert.deepEqual([err.code, err.mayHaveArrived], ['TIMEOUT', true]);
      assert.match(err.message, /did not answer POST \/v1\/reboot within 150 ms/);
      assert.ok(!err.message.includes(KEY));
    } finally {
      await closeServer(silent);
    }
  });

  it('a stalled peer fails TIMEOUT within the timeout even when garbage collection runs meanwhile (a caller signal given)', async () => {
    // A timeout signal inside AbortSignal.any could be collected before it fired: the request then
    // hung until undici's own 300 s default. Collect garbage while the request waits.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const silent = await tcpServer(() => undefined);
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    let collecting = true;
    const collect = (): void => {
      gc();
      if (collecting) setTimeout(collect, 10);
    };
    collect();
    try {
      const started = performance.now();
      const request = caught(send({ peer: 'cloud', baseUrl: silent.url, timeoutMs: 300, dispatcher }, { method: 'GET', path: '/v7/device', signal: new AbortController().signal }));
      const err = await Promise.race([request, new Promise((resolve) => setTimeout(() => resolve(`still waiting after ${3 * PATIENCE} s`), 3_000 * PATIENCE))]);
      assert.ok(err instanceof UnreachableError, String(err));
      assert.equal(err.code, 'TIMEOUT');
      // undici's headers timer ticks about once a second: the timeout plus that resolution (under
      // emulation each full collection every 10 ms is slow enough to delay timers: more slack there).
      assert.ok(performance.now() - started < 300 + 1_500 * PATIENCE, `took ${Math.round(performance.now() - started)} ms`);
    } finally {
      collecting = false;
      await closeServer(silent);
    }
  });

  it('a body that drips (each chunk within the idle timeout) still ends TIMEOUT at the whole-reply deadline', async () => {
    const drip = await tcpServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n');
      // One byte every 50 ms: never idle for the 300 ms undici's body timer waits for.
      const next = (): void => {
        if (socket.destroyed) return;
        socket.write('x');
        setTimeout(next, 50);
      };
      next();
    });
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    try {
      const started = performance.now();
      const err = await caught(send({ peer: 'cloud', baseUrl: drip.url, timeoutMs: 300, dispatcher }, { method: 'GET', path: '/slow' }));
      assert.ok(err instanceof UnreachableError, String(err));
      assert.equal(err.code, 'TIMEOUT');
      const took = performance.now() - started;
      assert.ok(took >= 250 && took < 900, `took ${Math.round(took)} ms`);
    } finally {
      await closeServer(drip);
    }
  });

  it('the caller\'s signal cancels a request to a stalled peer at once (ABORTED)', async () => {
    const silent = await tcpServer(() => undefined);
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    try {
      const controller = new AbortController();
      const pending = caught(send({ peer: 'supervisor', baseUrl: silent.url, timeoutMs: 30_000, dispatcher }, { method: 'GET', path: '/ping', signal: controller.signal }));
      await once(silent.server, 'connection');
      controller.abort();
      const err = await pending;
      assert.ok(err instanceof UnreachableError, String(err));
      assert.equal(err.code, 'ABORTED');
    } finally {
      await closeServer(silent);
    }
  });

  it('connection refused is UNREACHABLE and cannot have arrived', async () => {
    const gone = await tcpServer(() => undefined);
    const url = gone.url;
    await closeServer(gone);
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    const err = await caught(send({ peer: 'supervisor', baseUrl: url, timeoutMs: 5_000, dispatcher }, { method: 'POST', path: `/v1/reboot?apikey=${KEY}`, json: {} }));
    assert.ok(err instanceof UnreachableError, String(err));
    assert.deepEqual([err.code, err.mayHaveArrived], ['UNREACHABLE', false]);
    assert.match(err.message, /connection refused/);
    assert.ok(!err.message.includes(KEY));
  });

  it('a connection reset after the request was sent is UNREACHABLE and may have arrived', async () => {
    const reset = await tcpServer((socket) => socket.resetAndDestroy());
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    try {
      const err = await caught(send({ peer: 'supervisor', baseUrl: reset.url, timeoutMs: 5_000, dispatcher }, { method: 'POST', path: '/v1/reboot', json: {} }));
      assert.ok(err instanceof UnreachableError, String(err));
      assert.deepEqual([err.code, err.mayHaveArrived], ['UNREACHABLE', true]);
    } finally {
      await closeServer(reset);
    }
  });

  it('a connect timeout is TIMEOUT and cannot have arrived', async () => {
    const dispatcher = new Agent({ connect: (_opts, callback) => callback(new undiciErrors.ConnectTimeoutError(), null) });
    dispatchers.push(dispatcher);
    const err = await caught(send({ peer: 'cloud', baseUrl: 'http://10.255.255.1:9', timeoutMs: 5_000, dispatcher }, { method: 'GET', path: '/x' }));
    assert.ok(err instanceof UnreachableError, String(err));
    assert.deepEqual([err.code, err.mayHaveArrived], ['TIMEOUT', false]);
    assert.match(err.message, /cloud did not accept a connection for GET \/x/);
  });

  it('a cancelled request is ABORTED', async () => {
    const { agent, target } = mockTarget();
    agent.get(ORIGIN).intercept({ path: '/slow', method: 'GET' }).reply(200, 'late').delay(60_000);
    const controller = new AbortController();
    const pending = caught(send(target, { method: 'GET', path: '/slow', signal: controller.signal }));
    controller.abort();
    const err = await pending;
    assert.ok(err instanceof UnreachableError, String(err));
    assert.equal(err.code, 'ABORTED');
    await agent.close();
  });
});

describe('networkError', () => {
  it('maps low-level codes to reasons and says whether the request may have arrived', () => {
    const cases: Array<[Record<string, string>, string, string, boolean]> = [
      [{ code: 'ECONNREFUSED' }, 'UNREACHABLE', 'connection refused', false],
      [{ code: 'ENOTFOUND' }, 'UNREACHABLE', 'host name not found', false],
      [{ code: 'EHOSTUNREACH' }, 'UNREACHABLE', 'no route to host', false],
      [{ code: 'ECONNRESET' }, 'UNREACHABLE', 'connection reset', true],
      [{ code: 'UND_ERR_SOCKET' }, 'UNREACHABLE', 'connection reset', true],
      [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'TIMEOUT', 'did not accept a connection', false],
      [{ name: 'TimeoutError' }, 'TIMEOUT', 'within 500 ms', true],
      [{ name: 'AbortError' }, 'ABORTED', 'was cancelled', true],
      [{ code: 'UND_ERR_DESTROYED' }, 'ABORTED', 'was cancelled (stopping)', true],
      [{ code: 'ABORTED' }, 'ABORTED', 'was cancelled', true],
      [{ code: 'EWEIRD' }, 'UNREACHABLE', 'EWEIRD', true],
    ];
    for (const [cause, code, text, arrived] of cases) {
      const err = networkError('supervisor', 'POST', `/v1/update?apikey=${KEY}`, cause, 500);
      assert.deepEqual([err.code, err.mayHaveArrived], [code, arrived], JSON.stringify(cause));
      assert.ok(err.message.includes(text), `${err.message} should say ${text}`);
      assert.ok(!err.message.includes(KEY), err.message);
      assert.equal(err.cause, cause);
    }
  });
});

describe('parseJson, redactUrl, joinUrl', () => {
  it('parseJson returns the value or a BAD_RESPONSE naming the peer, the call and a short preview', () => {
    assert.deepEqual(parseJson('supervisor', 'GET /v2/version', '{"version":"19.0.5"}'), { version: '19.0.5' });
    assert.throws(() => parseJson('supervisor', 'GET /v2/version', '<html>\n  <body>502</body>'), (e: unknown) => {
      assert.ok(e instanceof BadResponseError);
      assert.equal(e.code, 'BAD_RESPONSE');
      assert.equal(e.message, 'supervisor sent a reply to GET /v2/version that is not JSON: "<html> <body>502</body>"');
      return true;
    });
    assert.throws(() => parseJson('cloud', 'x', '{"a":'), BadResponseError, 'truncated JSON');
  });

  it('redactUrl hides every apikey value, in any case, and nothing else', () => {
    assert.equal(redactUrl(`http://h/p?apikey=${KEY}&x=1`), 'http://h/p?apikey=[redacted]&x=1');
    assert.equal(redactUrl(`/p?x=1&APIKEY=${KEY}#frag`), '/p?x=1&APIKEY=[redacted]#frag');
    assert.equal(redactUrl('/p?notapikey=1&myapikey=2'), '/p?notapikey=1&myapikey=2');
    assert.equal(redactUrl('/plain/path'), '/plain/path');
  });

  it('joinUrl joins with exactly one slash', () => {
    assert.equal(joinUrl('/base/', '/v1/x'), '/base/v1/x');
    assert.equal(joinUrl('/', 'v1/x'), '/v1/x');
    assert.equal(joinUrl('', '/v1/x'), '/v1/x');
  });
});

describe('what loading the agent costs', () => {
  /** Imports `modules` in a fresh Node and reports whether Node's own bundled undici was loaded, and the HTTP client works. */
  function probe(modules: string[]): { bundledUndici: boolean; agentHasRequest: boolean } {
    const urls = modules.map((m) => new URL(m, import.meta.url).href);
    const script = `
      for (const u of ${JSON.stringify(urls)}) await import(u);
      const { createDispatcher } = await import(${JSON.stringify(new URL('../../src/lib/http.js', import.meta.url).href)});
      const d = createDispatcher();
      console.log(JSON.stringify({ bundledUndici: process.moduleLoadList.some((m) => m.includes('deps/undici')), agentHasRequest: typeof d.request === 'function' }));
      await d.close();`;
    const node = nodeCommand();
    const r = spawnSync(node.command, [...node.prefix, '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { bundledUndici: boolean; agentHasRequest: boolean };
  }

  it('the agent, its HTTP client and its local server never load Node\'s bundled undici (~14 MiB on Node 24)', () => {
    assert.deepEqual(probe(['../../src/cli/run.js', '../../src/http/server.js', '../../src/http/probe.js']), { bundledUndici: false, agentHasRequest: true });
  });
});
