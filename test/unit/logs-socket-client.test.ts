import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logFilter, socketClient, type SendingSocket } from '../../src/http/logs-socket.js';
import type { LogLine } from '../../src/logs/line.js';

const line = (message: string, unit = 'balena.service'): LogLine => ({ time: '2026-01-01T00:00:00.000Z', unit, priority: 6, message });

describe('/logs: a client\'s backpressure', () => {
  it('drops lines while the socket holds more than the bound unsent, and tells the count with the next line sent', () => {
    const sent: Record<string, unknown>[] = [];
    const ws = { OPEN: 1, readyState: 1, bufferedAmount: 0, send: (d: string) => void sent.push(JSON.parse(d) as Record<string, unknown>), close: () => undefined };
    const client = socketClient(ws as unknown as SendingSocket, () => true, 1000, (t) => t.replace('KEY', '[redacted]'));
    client.push(line('one KEY'));
    ws.bufferedAmount = 1001;
    for (let i = 0; i < 5; i++) client.push(line(`lost ${i}`));
    ws.bufferedAmount = 10;
    client.push(line('two'));
    client.push(line('three'));
    assert.deepEqual(sent.map((m) => [m.message, m.dropped]), [['one [redacted]', undefined], ['two', 5], ['three', undefined]]);
  });

  it('when no line follows the drops, the count goes alone once what the socket held was sent', () => {
    const sent: Record<string, unknown>[] = [];
    const written: Array<() => void> = [];
    const ws = {
      OPEN: 1, readyState: 1, bufferedAmount: 0, close: () => undefined,
      send: (d: string, cb?: () => void) => {
        sent.push(JSON.parse(d) as Record<string, unknown>);
        if (cb) written.push(cb);
      },
    };
    const client = socketClient(ws as unknown as SendingSocket, () => true, 1000, (t) => t);
    client.push(line('one'));
    client.push(line('two'));
    ws.bufferedAmount = 5000;
    for (let i = 0; i < 7; i++) client.push(line(`lost ${i}`));
    written.shift()!(); // "one" left, the socket still holds more than the bound: not yet
    assert.equal(sent.length, 2);
    ws.bufferedAmount = 0;
    written.shift()!(); // "two" left: the count alone
    assert.deepEqual(sent.slice(2), [{ dropped: 7 }]);
    written.shift()!(); // the count's own callback: nothing more to tell
    client.push(line('three'));
    assert.deepEqual(sent.map((m) => [m.message, m.dropped]), [['one', undefined], ['two', undefined], [undefined, 7], ['three', undefined]]);
  });

  it('sends nothing on a socket that is not open', () => {
    let sends = 0;
    const client = socketClient({ OPEN: 1, readyState: 2, bufferedAmount: 0, send: () => void sends++, close: () => undefined } as unknown as SendingSocket, () => true, 10, (t) => t);
    client.push(line('x'));
    assert.equal(sends, 0);
  });
});

describe('/logs: the filter from the query', () => {
  const pass = (query: string, l: LogLine): boolean => {
    const f = logFilter(new URLSearchParams(query));
    assert.ok(!(f instanceof Error));
    return f(l);
  };
  it('matches units with or without .service, repeated or as a comma list, and the message by a regular expression', () => {
    assert.equal(pass('unit=balena', line('x')), true);
    assert.equal(pass('unit=balena.service', line('x')), true);
    assert.equal(pass('unit=NetworkManager&unit=balena', line('x')), true);
    assert.equal(pass('unit=NetworkManager,kernel', line('x')), false);
    assert.equal(pass('unit=main', line('x', 'main')), true);
    assert.equal(pass('match=^err', line('error: disk')), true);
    assert.equal(pass('match=^err', line('no error')), false);
    assert.equal(pass('', line('anything', 'kernel')), true);
  });
  it('refuses a match that is not a regular expression', () => {
    assert.ok(logFilter(new URLSearchParams('match=(unclosed')) instanceof Error);
  });
});
