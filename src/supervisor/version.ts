// Two functions, not semver's index: the index loads every module of the package (+6.6 MiB of RSS in the agent, bench/memory).
import semverGte from 'semver/functions/gte.js';
import semverValid from 'semver/functions/valid.js';
import { UnsupportedError } from '../lib/errors.js';

/** Which supervisor version each optional feature needs (CONTRACT §2). */
export const GATES = {
  v2ServiceActions: { what: 'service actions (/v2/applications/:appId/*-service)', since: '7.0.0' },
  versionEndpoint: { what: 'GET /v2/version', since: '7.21.0' },
  serviceByName: { what: 'a service action by service name', since: '8.2.2', hint: 'pass the image id instead' },
  containerIds: { what: 'container ids (GET /v2/containerId)', since: '8.6.0' },
  journalLogs: { what: 'journal logs (POST /v2/journal-logs)', since: '10.2.0' },
  journalFormat: { what: 'a journal log format', since: '10.3.0' },
  headerAuth: { what: 'Authorization header auth', since: '11.3.0' },
  journalSince: { what: 'journal logs since a time', since: '14.7.0' },
  updateCancel: { what: 'cancelling an update in progress', since: '17.1.0' },
  tagPatch: { what: 'writing device tags through the supervisor (PATCH /v2/device/tags)', since: '17.8.0' },
} as const satisfies Record<string, { what: string; since: string; hint?: string }>;

/** The name of one gate. */
export type Gate = keyof typeof GATES;

/**
 * What the client assumes when `/v2/version` does not exist (404): a supervisor older than 7.21.0.
 * Gates are checked against this; messages say "older than 7.21.0" rather than this number.
 */
export const PRE_VERSION_ENDPOINT = '7.20.0';

/** Parses a supervisor version (`19.0.5`, `v7.21.0`, `19.0.5+rev1`) to plain semver, or undefined. */
export function parseSupervisorVersion(raw: string): string | undefined {
  const trimmed = raw.trim().replace(/^v/i, '');
  return semverValid(trimmed) ?? undefined;
}

/** True when `version` has the feature behind `gate`. */
export function supports(version: string, gate: Gate): boolean {
  return semverGte(version, GATES[gate].since);
}

/** How a version is named in messages. */
export function describeVersion(version: string): string {
  return version === PRE_VERSION_ENDPOINT ? `a supervisor older than ${GATES.versionEndpoint.since}` : version;
}

/** Throws an UnsupportedError that names the feature, the version it needs and the device's version. */
export function requireGate(version: string, gate: Gate): void {
  if (supports(version, gate)) return;
  const spec: { what: string; since: string; hint?: string } = GATES[gate];
  const hint = spec.hint ? ` (${spec.hint})` : '';
  throw new UnsupportedError(`${spec.what} needs supervisor ≥ ${spec.since}; this device runs ${describeVersion(version)}${hint}`);
}
