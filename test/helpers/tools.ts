/** System tools some tests drive (Prometheus, promtool, Chromium): a test skips without one, unless FLEET_AGENT_REQUIRE_TOOLS=1 (CI), where it fails. */
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';

/** Where the tools are (Debian's packages). */
export const TOOLS = { promtool: '/usr/bin/promtool', prometheus: '/usr/bin/prometheus', chromium: '/usr/bin/chromium' } as const;

/** The `skip` option of a test that needs `tools`: a reason when one is missing and not required, else false (the test then fails on it). */
export function skipWithout(...tools: (keyof typeof TOOLS)[]): string | false {
  const missing = tools.filter((t) => !existsSync(TOOLS[t]));
  if (missing.length === 0 || process.env.FLEET_AGENT_REQUIRE_TOOLS === '1') return false;
  return `${missing.map((t) => TOOLS[t]).join(', ')} not installed (apt-get install prometheus chromium); FLEET_AGENT_REQUIRE_TOOLS=1 makes this a failure`;
}

/** Runs `promtool check metrics` on an exposition; its exit code and everything it printed. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TOOLS.promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}
