import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { syncReadme } from '../../src/config/docs.js';

// The README's settings table is generated from the schema; this fails when they drift.
const README = new URL('../../../README.md', import.meta.url);
const HOW = 'regenerate it with `npm run docs` (syncReadme in src/config/docs.ts)';

describe('README settings table', () => {
  it('matches the settings schema', () => {
    let readme: string;
    try {
      readme = readFileSync(README, 'utf8');
    } catch {
      assert.fail(`README.md not found at the repository root; create it with the settings markers, then ${HOW}`);
    }
    let synced: string;
    try {
      synced = syncReadme(readme);
    } catch (err) {
      assert.fail((err as Error).message);
    }
    assert.ok(synced === readme, `the README's settings table differs from the schema; ${HOW}`);
  });
});
