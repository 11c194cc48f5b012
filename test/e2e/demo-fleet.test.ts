/**
 * `fleet-agent demo --devices 4 --json`: four simulated devices in one fleet. One fleet tag
 * `agent.reboot` = `<token> rollout=50%/20s`, set over the simulated API as an operator would, reaches
 * every device; each finds its own wave (computed here with node:crypto from the rule's words), the
 * second wave acks `scheduled … wave 2/2` and reboots only after the first wave did.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/agent-child.js';
import { MAIN, PATIENCE, baseChildEnv, nodeCommand } from '../helpers/cli.js';

interface Event {
  event: string;
  device?: string;
  [key: string]: unknown;
}

/** The wave of a device in a 50 % rollout: 0 or 1. */
function wave(uuid: string, token: string): number {
  const b = createHash('sha256').update(`${uuid}:${token}`).digest().readBigUInt64BE(0);
  return Number((b * 100n) / (50n << 64n));
}

describe('fleet-agent demo --devices (e2e)', () => {
  let child: ChildProcessWithoutNullStreams;
  let info: { cloudUrl: string; operatorKey: string; appId: number; devices: { name: string; uuid: string }[] };
  const events: (Event & { receivedAt: number })[] = [];
  const waiters: Array<{ pred: (e: Event) => boolean; resolve: () => void }> = [];

  const waitEvent = (pred: (e: Event) => boolean, what: string, timeoutMs: number): Promise<void> => {
    if (events.some(pred)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events.slice(-30))}`)), timeoutMs);
      waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  };

  before(async () => {
    const node = nodeCommand();
    child = spawn(node.command, [...node.prefix, MAIN, 'demo', '--devices', '4', '--json'], { env: { ...baseChildEnv(), AGENT_HTTP_PORT: String(await freePort()) } });
    const lines = createInterface({ input: child.stdout });
    info = JSON.parse(await new Promise<string>((resolve) => lines.once('line', resolve))) as typeof info;
    lines.on('line', (line) => {
      let event: Event;
      try {
        event = JSON.parse(line) as Event;
      } catch {
        return;
      }
      if (typeof event.event !== 'string') return;
      events.push({ ...event, receivedAt: Date.now() });
      for (const w of [...waiters]) {
        if (w.pred(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  });
  after(async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  });

  it('refuses a --devices that is not 1–200', async () => {
    const node = nodeCommand();
    const bad = spawn(node.command, [...node.prefix, MAIN, 'demo', '--devices', '0'], { env: baseChildEnv() });
    let err = '';
    bad.stderr.on('data', (d: Buffer) => (err += String(d)));
    const code = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, /--devices must be a whole number from 1 to 200, not "0"/);
  });

  it('one fleet tag with rollout=: each device reboots in its own wave, the second after the first', async () => {
    assert.equal(info.devices.length, 4);
    // A token that puts devices in both waves (the uuids are new at every run).
    const token = Array.from({ length: 100 }, (_, i) => `e2e-wave-${i}`).find((t) => new Set(info.devices.map((d) => wave(d.uuid, t))).size === 2) ?? 'e2e-wave-0';
    const res = await fetch(`${info.cloudUrl}/v7/application_tag`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.operatorKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ application: info.appId, tag_key: 'agent.reboot', value: `${token} rollout=50%/20s` }),
    });
    assert.equal(res.status, 201);
    // The demo device's own lines carry no `device` field; the others carry their name.
    const name = (d: { name: string }) => (d.name === 'demo-device' ? undefined : d.name);
    const rebootOf = (d: { name: string }) => (e: Event) => e.event === 'supervisor' && e.path === '/v1/reboot' && e.device === name(d);
    for (const d of info.devices) await waitEvent(rebootOf(d), `reboot of ${d.name}`, 90_000 * PATIENCE);
    const at = (d: { name: string }) => events.find(rebootOf(d))?.receivedAt ?? NaN;
    const first = info.devices.filter((d) => wave(d.uuid, token) === 0);
    const second = info.devices.filter((d) => wave(d.uuid, token) === 1);
    assert.ok(first.length > 0 && second.length > 0);
    assert.ok(Math.max(...first.map(at)) < Math.min(...second.map(at)), 'the first wave rebooted before the second');
    for (const d of second) {
      const acked = events.find((e) => e.event === (name(d) === undefined ? 'tag' : 'ack') && e.device === name(d) && e.key === 'agent.reboot.ack' && String(e.value).startsWith(`${token} scheduled `));
      assert.match(String(acked?.value), new RegExp(`^${token} scheduled \\S+Z wave 2/2$`), `${d.name} said it waits for wave 2`);
    }
    for (const d of first) {
      assert.equal(events.some((e) => e.device === name(d) && typeof e.value === 'string' && e.value.includes('scheduled')), false, `${d.name} (wave 1) never waited`);
    }
  });
});
