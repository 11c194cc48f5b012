import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import { systemClock } from '../../src/lib/clock.js';
import { SupervisorClient } from '../../src/supervisor/client.js';

describe('SupervisorClient: the shared version probe', () => {
  it('one caller giving up does not cancel the probe for the others; one request is sent', async () => {
    const held: ServerResponse[] = [];
    let probes = 0;
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/v2/version')) probes += 1;
      held.push(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dispatcher = new Agent();
    try {
      const client = new SupervisorClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'k', appId: 1, dispatcher, clock: systemClock });
      const leaving = new AbortController();
      const first = client.version(leaving.signal);
      const second = client.version();
      leaving.abort();
      await assert.rejects(first, (err: { code?: string }) => err.code === 'ABORTED');
      await new Promise<void>((resolve) => (held.length > 0 ? resolve() : server.once('request', () => resolve())));
      held[0]?.end(JSON.stringify({ status: 'success', version: '17.1.0' }));
      assert.equal(await second, '17.1.0');
      assert.equal(probes, 1);
    } finally {
      for (const res of held) if (!res.writableEnded) res.end();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await dispatcher.close();
    }
  });
});
