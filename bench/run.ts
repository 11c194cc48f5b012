/** Runs every benchmark in bench/ one after the other and prints their figures. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
/** Arguments a bench gets here, where the full run would take too long. */
const ARGS: Readonly<Record<string, readonly string[]>> = { 'fleet.js': ['--devices', '1000'] };
let failed = 0;
for (const file of benches) {
  console.log(`\n## ${file.replace(/\.js$/, '')}`);
  const result = spawnSync(process.execPath, [`${dir}${file}`, ...(ARGS[file] ?? [])], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
