/**
 * What the agent sees of its device, for snapshots: the app's services from the supervisor, the
 * watchdog's looks at them (status and check URL, counted in a row), the image ids a tag may name.
 * Every read is I/O; the behaviours only ever see the result, frozen in a snapshot.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { AgentError, HttpError } from '../lib/errors.js';
import type { Config } from '../config/schema.js';
import type { CheckPort, SupervisorPort } from './ports.js';
import type { ServiceLook } from './snapshot.js';

/** Statuses of a service the supervisor is installing, replacing or removing: not a failure. */
const TRANSITIONAL = /^(downloading|downloaded|installing|installed|stopping|deleting|awaiting handover|handing over|restarting|starting|created)$/i;

/** True for a status that means the service runs. */
export function isRunning(status: string): boolean {
  return /^running$/i.test(status);
}

/** Dependencies of the observer. */
export interface ObserverOptions {
  supervisor: SupervisorPort;
  clock: Clock;
  log: Logger;
  /** Asks a service's check URL (absent: checks are not asked, and count as passing). */
  checks?: CheckPort | undefined;
}

/** Reads and remembers what the behaviours need from the device. */
export class Observer {
  /** False after a supervisor call could not connect; undefined before the first call. */
  supervisorReachable: boolean | undefined;
  /** Why the reachable supervisor's last answer was unusable, if it was. */
  supervisorProblem: string | undefined;
  /** Service names of the app, from the last good read; null before one. */
  names: string[] | null = null;
  /** The supervisor is applying an update to the app. */
  updating = false;
  private statuses: Record<string, string> = {};
  private readonly looks = new Map<string, ServiceLook>();

  constructor(private readonly opts: ObserverOptions) {}

  /** Reads the app's services (names, statuses, update status); null names when the supervisor cannot say. */
  async readServices(appId: number | undefined): Promise<string[] | null> {
    try {
      const apps = Object.values(await this.opts.supervisor.applicationsState());
      this.supervisorReachable = true;
      this.supervisorProblem = undefined;
      const app = apps.find((a) => a.appId === appId) ?? (apps.length === 1 ? apps[0] : undefined);
      if (!app) {
        this.names = null;
        return null;
      }
      this.names = Object.keys(app.services);
      this.statuses = Object.fromEntries(Object.entries(app.services).map(([name, s]) => [name, s.status]));
      this.updating = app.updateStatus !== undefined && !/^done$/i.test(app.updateStatus);
      return this.names;
    } catch (err) {
      const code = err instanceof AgentError ? err.code : 'INTERNAL';
      this.supervisorReachable = !(code === 'UNREACHABLE' || code === 'TIMEOUT');
      this.supervisorProblem = !this.supervisorReachable
        ? undefined
        : code === 'UNAUTHORIZED' || code === 'FORBIDDEN'
          ? 'supervisor rejected the API key'
          : err instanceof HttpError
            ? `supervisor answers HTTP ${err.status}`
            : 'supervisor answers unreadable state';
      this.opts.log.warn({ err }, 'cannot read the supervisor state');
      this.names = null;
      return null;
    }
  }

  /**
   * One look of the watchdog (every AGENT_WATCHDOG_INTERVAL): reads the services, then asks each
   * watched service's check URL; counts, per service, looks in a row that found it not running and
   * checks in a row that failed. A service being updated, or in a transitional status, is not
   * counted down. Returns false when the supervisor could not say (the looks are then unknown).
   */
  async look(appId: number | undefined, config: Config, ownService: string | undefined, signal: AbortSignal): Promise<boolean> {
    const names = await this.readServices(appId);
    if (names === null) {
      this.looks.clear();
      return false;
    }
    const now = this.opts.clock.now();
    const watched = config.watchdog === 'all' ? names.filter((n) => n !== ownService) : (config.watchdog ?? []).filter((n) => names.includes(n));
    for (const name of [...this.looks.keys()]) if (!watched.includes(name)) this.looks.delete(name);
    for (const name of watched) {
      const status = this.statuses[name] ?? 'unknown';
      const previous = this.looks.get(name) ?? { status, downLooks: 0, checkFailures: 0, healthySince: null };
      const transitional = this.updating || TRANSITIONAL.test(status);
      const down = !isRunning(status) && !transitional;
      const url = config.checks[name];
      let checkFailed = false;
      if (url !== undefined && isRunning(status) && this.opts.checks && !signal.aborted) {
        const problem = await this.opts.checks.check(url, signal);
        checkFailed = problem !== null;
        if (checkFailed) this.opts.log.warn({ service: name, problem }, 'service check failed');
      }
      const healthy = isRunning(status) && !checkFailed;
      this.looks.set(name, {
        status,
        downLooks: down ? previous.downLooks + 1 : 0,
        checkFailures: checkFailed ? previous.checkFailures + 1 : isRunning(status) ? 0 : previous.checkFailures,
        healthySince: healthy ? (previous.healthySince ?? now) : null,
      });
    }
    return true;
  }

  /** The watchdog's looks now (null when the supervisor could not say at the last look). */
  currentLooks(): Record<string, ServiceLook> | null {
    if (this.names === null) return null;
    return Object.fromEntries(this.looks);
  }

  /**
   * The app's image ids to service names, from GET /v2/state/status: empty where the supervisor has
   * no such route (404: a tag naming an id is then rejected), null when it fails otherwise (the tag
   * waits for a later poll, and the log says why).
   */
  async imageIds(appId: number | undefined): Promise<Record<string, string> | null> {
    try {
      const status = await this.opts.supervisor.stateStatus();
      const ids: Record<string, string> = {};
      for (const i of [...status.images, ...status.containers]) if (i.appId === appId) ids[String(i.imageId)] = i.serviceName;
      return ids;
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return {};
      this.opts.log.warn({ err }, 'cannot read image ids from the supervisor; a tag naming a service by image id waits');
      return null;
    }
  }
}
