import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SETTINGS_END, SETTINGS_START, settingsTable, syncReadme } from '../../src/config/docs.js';
import { SETTINGS } from '../../src/config/schema.js';

describe('settingsTable', () => {
  it('has a header and one row per setting, in schema order', () => {
    const rows = settingsTable().split('\n').filter((line) => line.startsWith('| `'));
    assert.equal(rows.length, SETTINGS.length);
    assert.deepEqual(rows.map((r) => /^\| `([^`]+)`/.exec(r)?.[1]), SETTINGS.map((s) => s.env));
    assert.ok(settingsTable().startsWith('| env | tag (live) | default | meaning |\n|---|---|---|---|\n'));
  });
  it('shows tag, default and meaning', () => {
    const table = settingsTable();
    assert.ok(table.includes('| `AGENT_POLL_INTERVAL` | `poll-interval` | `5m` | how often the cloud is read'), table);
    assert.ok(table.includes('| `AGENT_HTTP_PORT` | – | `48485` |'), table);
    assert.ok(table.includes('| `AGENT_REBOOT_SCHEDULE` | `reboot-schedule` | off |'), table);
    assert.ok(table.includes('a bare number is seconds'), table);
    assert.ok(table.includes('2^20'), table);
  });
});

describe('syncReadme', () => {
  it('replaces only the text between the markers, and is idempotent', () => {
    const readme = `# Title\n\nintro\n\n${SETTINGS_START}\nold table\n${SETTINGS_END}\n\nmore\n`;
    const synced = syncReadme(readme);
    assert.equal(synced, `# Title\n\nintro\n\n${SETTINGS_START}\n${settingsTable()}\n${SETTINGS_END}\n\nmore\n`);
    assert.equal(syncReadme(synced), synced);
  });
  it('throws telling to add the markers and run the sync when they are missing', () => {
    assert.throws(() => syncReadme('# no markers\n'), /settings:start[\s\S]*run the sync/);
    assert.throws(() => syncReadme(`${SETTINGS_END}\n${SETTINGS_START}\n`), /markers/);
  });
});
