/** Shared fixtures for the agent tests: a config, snapshots, a silent logger. */
import { defaultConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { makeSnapshot, type Snapshot } from '../../src/agent/snapshot.js';
import { admit } from '../../src/agent/admission.js';
import type { Action } from '../../src/agent/actions.js';
import { operator } from '../../src/agent/behaviours/operator.js';
import type { JournalEntry, JournalFile } from '../../src/agent/journal.js';
import { JournalStore } from '../../src/agent/journal-store.js';
import { JournalError } from '../../src/lib/errors.js';
import { Writable } from 'node:stream';
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
    serviceImages: { '1001': 'main', '1002': 'fleet-agent' },
    tagsSeen: true,
    looks: null,
    updating: false,
    journal: [],
    inProgress: new Set(),
    bootId: 'boot-1',
    budget: { max: 3, used: 0, releaseAtWall: null },
    uuid: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    ownService: 'fleet-agent',
    startedAt: 0,
    lastContactAt: null,
    lastContactWall: null,
    state: {},
    ...over,
  });
}

/** What the operator's tags lead to: its proposals through the admission step (the agent's path, minus I/O). */
export function decide(snapshot: Snapshot): Action[] {
  return admit(snapshot, [{ behaviour: operator, proposals: operator.decide(snapshot).proposals }]);
}

/** What an action does, in one word: the command that runs, or the outcome recorded (reject, defer, supersede). */
export function what(a: Action): string {
  return a.kind === 'run' ? a.command : a.kind;
}

/** A journal entry with defaults. */
export function entry(over: Partial<JournalEntry> & Pick<JournalEntry, 'command' | 'token'>): JournalEntry {
  return {
    state: 'done', detail: '', bootId: 'boot-1', attempts: 1, sending: false, force: false, services: [],
    createdAt: 0, updatedAt: 0, ...over,
  };
}

/** A logger that writes nowhere, whatever its level becomes. */
export function silentLog() {
  const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() });
  return createLogger({ level: 'silent', destination: nowhere });
}

/**
 * A real journal file whose writes fail with ENOSPC (as on a full disk) once `allowed` more writes
 * have succeeded; `allowed: null` (the default) never fails. `writes` counts successful writes.
 */
export function fillableStore(dir: string): { store: JournalFile; disk: { allowed: number | null; writes: number } } {
  const real = new JournalStore(dir);
  const disk: { allowed: number | null; writes: number } = { allowed: null, writes: 0 };
  const store: JournalFile = {
    path: real.path,
    read: () => real.read(),
    quarantine: (wall) => real.quarantine(wall),
    write: async (text) => {
      if (disk.allowed !== null && disk.allowed <= 0) {
        const cause = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        throw new JournalError(`cannot write the journal in ${dir}: ENOSPC`, { cause });
      }
      if (disk.allowed !== null) disk.allowed -= 1;
      await real.write(text);
      disk.writes += 1;
    },
  };
  return { store, disk };
}
