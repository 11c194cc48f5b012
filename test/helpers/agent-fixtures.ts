/** Shared fixtures for the agent tests: a config, snapshots, a silent logger. */
import { defaultConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { makeSnapshot, type Snapshot } from '../../src/agent/snapshot.js';
import type { JournalEntry } from '../../src/agent/journal.js';
import { createLogger } from '../../src/lib/logger.js';

/** The default config with overrides. */
export function testConfig(over: Partial<Config> = {}): Config {
  return { ...defaultConfig(), startSpreadMs: 0, ...over };
}

/** A snapshot with sensible defaults. */
export function snap(over: Partial<Snapshot> = {}): Snapshot {
  return makeSnapshot({
    now: 0,
    wall: Date.UTC(2026, 0, 1),
    config: testConfig(),
    deviceTags: {},
    fleetTags: {},
    services: ['main', 'fleet-agent'],
    journal: [],
    inProgress: new Set(),
    bootId: 'boot-1',
    budget: { max: 3, used: 0, releaseAtWall: null },
    ...over,
  });
}

/** A journal entry with defaults. */
export function entry(over: Partial<JournalEntry> & Pick<JournalEntry, 'command' | 'token'>): JournalEntry {
  return {
    state: 'done', detail: '', bootId: 'boot-1', attempts: 1, sending: false, force: false, services: [],
    createdAt: 0, updatedAt: 0, ...over,
  };
}

/** A logger that writes nowhere. */
export function silentLog() {
  return createLogger({ level: 'silent' });
}
