/**
 * Ways to make a simulated service fail, for the agent's service watchdog: it exits once, keeps
 * crashing whatever restarts it (a crash loop), or runs but is hung (its health check fails).
 */
import type { SimRestartsTo, SimServiceState, SimState } from './state.js';

/** How `exitService` makes a service exit. */
export interface SimExitOptions {
  /**
   * What a later restart-service, app restart, purge or reboot brings it back as: `Running`
   * (default: it crashed once) or `exited` again at once (a crash loop no restart fixes; the
   * container id still changes on every recreate).
   */
  restartsTo?: SimRestartsTo;
}

/** How `hangService` hangs a service. */
export interface SimHangOptions {
  /** Its check never answers (the connection is held until the client gives up); default: it answers 500. */
  silent?: boolean;
  /** A restart of the service (restart-service, app restart, purge, reboot) leaves it hung; default: a restart clears it. */
  sticky?: boolean;
}

/** What an app's `updateStatus` can read while an update is being applied (the cloud's words, CONTRACT §4.6). */
export type SimUpdateStatus = 'downloading' | 'downloaded' | 'applying changes';

/** The service of this name, or an error naming the ones the device runs. */
export function serviceNamed(state: SimState, name: string): SimServiceState {
  const service = state.services.find((s) => s.name === name);
  if (!service) throw new Error(`no service "${name}" on the simulated device; it runs ${state.services.map((s) => s.name).join(', ')}`);
  return service;
}

/** The service's container exits (status `exited`); see SimExitOptions for what a restart then does. */
export function exitService(state: SimState, name: string, opts: SimExitOptions = {}): void {
  const service = serviceNamed(state, name);
  service.status = 'exited';
  service.restartsTo = opts.restartsTo ?? 'Running';
}

/** The service keeps running (its status is untouched) but is hung: its health check fails or never answers. */
export function hangService(state: SimState, name: string, opts: SimHangOptions = {}): void {
  serviceNamed(state, name).hang = { silent: opts.silent ?? false, sticky: opts.sticky ?? false };
}

/** The service is well again: `Running` in the same container, restarts to `Running`, no hang (sticky or not). */
export function healService(state: SimState, name: string): void {
  const service = serviceNamed(state, name);
  service.status = 'Running';
  service.restartsTo = 'Running';
  service.hang = null;
}

/** What a service's health check does now: answer 200, 500, nothing (held), cut the connection (not running), or 404. */
export type SimCheckOutcome = 'ok' | 'failed' | 'held' | 'down' | 'unknown';

/** The outcome of a check of `name`: only a `Running` service answers; a hung one fails or stays silent. */
export function checkOutcome(state: SimState, name: string): SimCheckOutcome {
  const service = state.services.find((s) => s.name === name);
  if (!service) return 'unknown';
  if (service.status !== 'Running') return 'down';
  if (service.hang) return service.hang.silent ? 'held' : 'failed';
  return 'ok';
}
