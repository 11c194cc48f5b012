import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/lib/errors.js';
import { readLocalServer } from '../../src/http/probe.js';

type Env = Record<string, string>;

/** What the agent makes of the local server settings: its port, bind and token, or the variables it refuses. */
function agentView(env: Env): { port: number; bind: string; token: string | null } | { refused: string[] } {
  try {
    const c = loadConfig(env);
    return { port: c.httpPort, bind: c.httpBind, token: c.httpToken };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { refused: err.problems.map((p) => /^(?:[A-Z_]+)/.exec(p)?.[0] ?? p).sort() };
  }
}

describe('health probe: reads the local server settings exactly as the agent does', () => {
  const cases: Env[] = [
    {},
    { AGENT_HTTP_PORT: '8080' },
    { AGENT_HTTP_PORT: ' 8081 ' },
    { AGENT_HTTP_PORT: '' },
    { AGENT_HTTP_PORT: '   ' },
    { AGENT_HTTP_PORT: '0' },
    { AGENT_HTTP_PORT: '65536' },
    { AGENT_HTTP_PORT: '80.5' },
    { AGENT_HTTP_PORT: 'http' },
    { AGENT_HTTP_PORT: '-1' },
    { AGENT_HTTP_BIND: '127.0.0.2' },
    { AGENT_HTTP_BIND: 'localhost' },
    { AGENT_HTTP_BIND: '[::1]' },
    { AGENT_HTTP_BIND: '::1' },
    { AGENT_HTTP_BIND: '0.0.0.0' },
    { AGENT_HTTP_BIND: '0.0.0.0', AGENT_HTTP_TOKEN: 'tok-0123456789' },
    { AGENT_HTTP_BIND: '::', AGENT_HTTP_TOKEN: 'tok-0123456789' },
    { AGENT_HTTP_BIND: '10.0.0.7', AGENT_HTTP_TOKEN: 'short' },
    { AGENT_HTTP_BIND: 'not an address' },
    { AGENT_HTTP_BIND: 'device.local', AGENT_HTTP_TOKEN: '  tok-0123456789  ' },
    { AGENT_HTTP_TOKEN: 'with space inside' },
    { AGENT_HTTP_TOKEN: '' },
  ];
  for (const env of cases) {
    it(JSON.stringify(env), () => {
      const agent = agentView(env);
      const probe = readLocalServer(env);
      if ('refused' in agent) {
        assert.ok('problems' in probe, `the agent refuses ${agent.refused.join(', ')}; the probe must too`);
        assert.deepEqual(probe.problems.map((p) => /^[A-Z_]+/.exec(p)?.[0]).sort(), agent.refused);
        return;
      }
      assert.ok(!('problems' in probe), `the agent accepts these settings; the probe refused: ${'problems' in probe ? probe.problems.join('; ') : ''}`);
      assert.equal(probe.port, agent.port);
      assert.equal(probe.token, agent.token);
      // A wildcard bind is dialled on loopback; any other address as it is.
      const dial = agent.bind === '0.0.0.0' ? '127.0.0.1' : agent.bind === '::' ? '::1' : agent.bind;
      assert.equal(probe.host, dial);
    });
  }
  it('never shows the token in a problem', () => {
    const probe = readLocalServer({ AGENT_HTTP_TOKEN: 'secret value with spaces' });
    assert.ok('problems' in probe);
    assert.ok(!probe.problems.join(' ').includes('secret'), probe.problems.join(' '));
  });
});
