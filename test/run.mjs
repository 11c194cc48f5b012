// Runs the compiled test suite with Node's test runner: unit, integration, e2e.
// FLEET_AGENT_TESTS=unit,integration limits the layers (used for the slower arm64 run).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const layers = (process.env.FLEET_AGENT_TESTS ?? 'unit,integration,e2e').split(',');
const files = [];
function walk(dir) {
  let entries;
  try { entries = readdirSync(dir); } catch { return; }
  for (const name of entries.sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.js')) files.push(path);
  }
}
for (const layer of layers) walk(join('dist', 'test', layer));
if (files.length === 0) {
  console.error('no test files found under dist/test; run npm run build first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
