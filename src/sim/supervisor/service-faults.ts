/**
 * Ways to make a simulated service fail, for the agent's service watchdog: it exits once, or
 * keeps crashing whatever restarts it (a crash loop).
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

/** The service is well again: `Running` in the same container, and restarts to `Running`. */
export function healService(state: SimState, name: string): void {
  const service = serviceNamed(state, name);
  service.status = 'Running';
  service.restartsTo = 'Running';
}

