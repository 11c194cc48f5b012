import type { Clock } from '../../lib/clock.js';
import { SimJournal, type SimJournalLine } from './journal.js';

/** A service of the simulated app. */
export interface SimService {
  name: string;
  imageId: number;
  serviceId: number;
  /** Default `Running`. */
  status?: string;
}

/** What a service's container comes back as when it is started afresh: `Running`, or `exited` at once (a crash loop). */
export type SimRestartsTo = 'Running' | 'exited';

/** A service that runs but is hung: its health check fails (`silent`: never answers); `sticky`: a restart leaves it hung. */
export interface SimHang {
  silent: boolean;
  sticky: boolean;
}

/** A service as the simulated device runs it: its status, current container and what is wrong with it. */
export type SimServiceState = Required<SimService> & {
  containerId: string;
  /** What a restart, recreate or reboot sets the status to (default `Running`). */
  restartsTo: SimRestartsTo;
  /** Set while the service is hung; its health check (`/sim/check/<name>`) then fails. */
  hang: SimHang | null;
};

/** What the supervisor did to the device: one per request that acted (never for a refused one). */
export interface SimEffect {
  kind: 'reboot' | 'shutdown' | 'restart' | 'purge' | 'restart-service' | 'stop-service' | 'start-service' | 'blink' | 'update';
  /** The service acted on (service actions only). */
  service?: string;
  force: boolean;
  /** Wall time it happened. */
  at: number;
}

/** The simulated device as the routes read and change it. */
export interface SimState {
  appId: number;
  appName: string;
  appUuid: string;
  commit: string;
  releaseId: number;
  version: string;
  /** Each with its current status (`Running` unless stopped), the id of its current container and its faults. */
  services: SimServiceState[];
  /** The app's `updateStatus` in `GET /v2/applications/state`: `done` unless an update is being applied. */
  updateStatus: string;
  /** How many containers were ever created (container ids derive from it). */
  created: number;
  deviceName: string;
  instantUpdates: boolean;
  lock: string | null;
  healthy: boolean;
  tags: Array<{ id: number; name: string; value: string }>;
  vpn: { enabled: boolean; connected: boolean };
  counts: { reboots: number; shutdowns: number; updates: number; blinks: number; purges: number; restarts: number };
  journal: SimJournal;
  onTagsPatch: ((tags: Record<string, string>) => void | Promise<void>) | undefined;
  /** Runs after a successful reboot reply has been sent. */
  rebooted: () => Promise<void>;
  /** Called by a route the moment it acts (state already changed, reply not yet sent). */
  effect: (e: Omit<SimEffect, 'at'>) => void;
}

/** How the simulated device starts out (the simulator's options, defaults filled in below). */
export interface SimStateOptions {
  appId: number;
  appName?: string;
  appUuid?: string;
  /** Default `19.0.5`. */
  version?: string;
  services?: SimService[];
  deviceName?: string;
  /** `/v1/update` without force answers 204 when true (the default), 202 when false. */
  instantUpdates?: boolean;
  /** Initial journal lines (default: a few start-up lines). */
  journal?: SimJournalLine[];
  onTagsPatch?: SimState['onTagsPatch'];
}

const DEFAULT_SERVICES: SimService[] = [
  { name: 'main', imageId: 1001, serviceId: 11 },
  { name: 'fleet-agent', imageId: 1002, serviceId: 12 },
];

const DEFAULT_JOURNAL: SimJournalLine[] = [
  { message: 'Supervisor starting', unit: 'balena-supervisor.service', identifier: 'balena-supervisor' },
  { message: 'Started balenaEngine', unit: 'balena.service', identifier: 'balenad' },
  { message: 'Device state applied', unit: 'balena-supervisor.service', identifier: 'balena-supervisor' },
];

/** A container id as the engine prints them (64 hex digits), unique per creation. */
function containerId(n: number): string {
  return `c${n.toString(16).padStart(11, '0')}`.padEnd(64, '0');
}

/** Removes and creates a service's container again (restart, purge, restart-service): a new container id, started afresh. */
export function recreate(state: SimState, service: SimServiceState): void {
  state.created += 1;
  service.containerId = containerId(state.created);
  startAfresh(service);
}

/**
 * Starts a service's process anew in the same container (start-service of a stopped one, a
 * reboot): its status becomes what it restarts to (`exited` again for a crash loop) and a hang
 * that is not sticky is gone.
 */
export function startAfresh(service: SimServiceState): void {
  service.status = service.restartsTo;
  if (service.hang?.sticky !== true) service.hang = null;
}

/** A fresh simulated device: one app, its services running, no lock, healthy, a few journal lines. */
export function createSimState(
  opts: SimStateOptions,
  clock: Clock,
  rebooted: () => Promise<void>,
  effect: SimState['effect'] = () => undefined,
): SimState {
  const state: SimState = {
    appId: opts.appId,
    appName: opts.appName ?? 'fleet-app',
    appUuid: opts.appUuid ?? 'f1ee7a99f1ee7a99f1ee7a99f1ee7a99',
    commit: 'c0ffee0c0ffee0c0ffee0c0ffee0c0ff',
    releaseId: 77,
    updateStatus: 'done',
    version: opts.version ?? '19.0.5',
    services: (opts.services ?? DEFAULT_SERVICES).map((s, i) => ({
      ...s, status: s.status ?? 'Running', containerId: containerId(i + 1), restartsTo: 'Running', hang: null,
    })),
    created: (opts.services ?? DEFAULT_SERVICES).length,
    deviceName: opts.deviceName ?? 'quiet-river',
    instantUpdates: opts.instantUpdates ?? true,
    lock: null,
    healthy: true,
    tags: [],
    vpn: { enabled: true, connected: true },
    counts: { reboots: 0, shutdowns: 0, updates: 0, blinks: 0, purges: 0, restarts: 0 },
    journal: new SimJournal({ clock, hostname: () => state.deviceName }),
    onTagsPatch: opts.onTagsPatch,
    rebooted,
    effect,
  };
  for (const line of opts.journal ?? DEFAULT_JOURNAL) state.journal.push(line);
  return state;
}
