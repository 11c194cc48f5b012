/**
 * buildAgent: the agent's one wiring place. Every part is built here from the dependencies and
 * handed to the parts that use it; no part builds its own collaborators, so tests and benchmarks
 * can replace any of them.
 */
import type { Clock } from '../lib/clock.js';
import { createDispatcher } from '../lib/http.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../config/schema.js';
import { LogHub } from '../http/log-hub.js';
import { UnderVoltageCounter, type JournalFollow } from '../metrics/kernel-events.js';
import type { MetricsSource } from '../metrics/sample.js';
import { Sampler } from '../metrics/sampler.js';
import { ActionTally } from './action-tally.js';
import { Activity } from './activity.js';
import { Agent } from './agent.js';
import type { Behaviour } from './behaviours/behaviour.js';
import { BEHAVIOURS } from './behaviours/index.js';
import { Decider } from './decider.js';
import { CommandDispatch } from './dispatch.js';
import { HttpCheck } from './http-check.js';
import { Journal, type JournalFile } from './journal.js';
import { Observer } from './observer.js';
import { CloudPoller } from './poller.js';
import type { CheckPort, CloudPort, SupervisorPort, TagsPort } from './ports.js';
import { Reporter } from './reporter.js';
import { Runner } from './runner.js';
import { Scheduler } from './scheduler.js';
import { MetricsReport } from './metrics-report.js';
import { LiveSettings } from './settings.js';
import { Forwarder, type ForwarderDeps } from '../logs/forwarder.js';

/** What the agent is built from. */
export interface AgentDeps {
  /** Settings from the environment; live tags are applied on top at every poll. */
  config: Config;
  clock: Clock;
  log: Logger;
  supervisor: SupervisorPort;
  cloud: CloudPort;
  tags: TagsPort;
  /** The kernel boot id now (read from config.bootIdPath by the caller). */
  bootId: string;
  /** The agent's version, reported in `<prefix>version`. */
  version: string;
  /** BALENA_SERVICE_NAME: a restart of this service restarts the agent itself. */
  serviceName?: string;
  /** BALENA_DEVICE_UUID: known before the first poll, so behaviours work offline from the start (else learnt from the poll). */
  uuid?: string;
  /** BALENA_APP_ID: the app whose services the agent reads (else learnt from the poll). */
  appId?: number;
  /** The journal's file (default: atomic files in config.dataDir); tests inject failing writes. */
  journalFile?: JournalFile;
  random?: () => number;
  /** Problems found while starting the process around the agent (e.g. the local HTTP server). */
  localProblems?: () => readonly string[];
  /** Asks the watchdog's check URLs (default: the agent's HTTP client, built when a check is first asked). */
  checks?: CheckPort;
  /** The behaviours (default: all of them). */
  behaviours?: readonly Behaviour[];
  /** Where metrics samples come from (the device: systemSource()); without one the agent does not sample. */
  metricsSource?: MetricsSource;
  /** A journal follow (the supervisor's): for `/logs` and the kernel's under-voltage lines; without one neither runs. */
  journal?: JournalFollow;
  /**
   * Log forwarding's facilities (the journal, an HTTP dispatcher, the cloud's URL and device key);
   * without them the agent forwards no logs whatever AGENT_LOGS_FORWARD says.
   */
  logs?: Pick<ForwarderDeps, 'journal' | 'dispatcher' | 'cloudApi' | 'bootTimeMs' | 'fs' | 'onSent' | 'sinkBackoff'>;
}

/** A check port that builds its HTTP client only when a check URL is first asked (most devices set none). */
function lazyChecks(): CheckPort {
  let http: HttpCheck | undefined;
  return { check: (url, signal) => (http ??= new HttpCheck({ dispatcher: createDispatcher({ connectTimeoutMs: 5_000 }) })).check(url, signal) };
}

/** Builds an agent and all its parts. */
export function buildAgent(deps: AgentDeps): Agent {
  const { clock, log, config } = deps;
  const random = deps.random ?? Math.random;
  const activity = new Activity();
  const settings = new LiveSettings(config, log);
  const scheduler = new Scheduler({ clock, log, activity });
  const runner = new Runner({ clock, activity });
  const journal = new Journal({ dir: config.dataDir, clock, ...(deps.journalFile ? { store: deps.journalFile } : {}) });
  const reporter = new Reporter({ tags: deps.tags, clock, log, minIntervalMs: 10_000, random });
  const poller = new CloudPoller({ cloud: deps.cloud, clock, log, random, intervalMs: () => settings.current.pollIntervalMs });
  const observer = new Observer({ supervisor: deps.supervisor, clock, log, checks: deps.checks ?? lazyChecks() });
  const behaviours = deps.behaviours ?? BEHAVIOURS;
  const kernelPower = deps.journal ? new UnderVoltageCounter({ journal: deps.journal, bootId: deps.bootId }) : undefined;
  const metrics = deps.metricsSource
    ? new MetricsReport({ clock, sampler: new Sampler({ source: deps.metricsSource, clock, log, dataDir: config.dataDir, underVoltageEvents: () => kernelPower?.events }) })
    : undefined;
  // The agent is created last; the dispatcher reports changes to it (late-bound).
  const late: { agent?: Agent } = {};
  const dispatch = new CommandDispatch({
    journal, runner, supervisor: deps.supervisor, clock, log, bootId: deps.bootId, ownService: deps.serviceName, random,
    config: () => settings.current,
    changed: (dropped) => late.agent?.changed(dropped),
    recordInCloud: async (entry) => late.agent?.recordInCloud(entry),
    recordAck: async (entry, withinMs) => late.agent?.recordAck(entry, withinMs),
  });
  const decider = new Decider({
    behaviours, journal, runner, dispatch, observer, poller, clock, log, bootId: deps.bootId, ownService: deps.serviceName,
    config: () => settings.current, startedAt: () => late.agent?.startTime ?? clock.now(),
    device: () => ({ uuid: poller.last?.device.uuid ?? deps.uuid ?? '', appId: poller.last?.device.appId ?? deps.appId }),
  });
  // Built whenever its facilities are given (it idles while AGENT_LOGS_FORWARD is none): a live tag may set sinks.
  const logs = deps.logs && new Forwarder({
    ...deps.logs, clock, log, scheduler, config: () => settings.current,
    device: () => {
      const d = poller.last?.device;
      return { uuid: d?.uuid ?? deps.uuid ?? '', fleet: d?.appName ?? String(d?.appId ?? deps.appId ?? '') };
    },
  });
  const agent = new Agent({
    clock, log, cloud: deps.cloud, tags: deps.tags, bootId: deps.bootId, version: deps.version, random,
    localProblems: deps.localProblems ?? (() => []), settings, activity, scheduler, runner, journal, reporter, dispatch,
    poller, observer, decider, behaviours, ownService: deps.serviceName, appId: () => poller.last?.device.appId ?? deps.appId,
    metrics, kernelPower, tally: new ActionTally(), logHub: deps.journal ? new LogHub({ journal: deps.journal }) : undefined,
    ...(logs ? { logs } : {}),
  });
  late.agent = agent;
  return agent;
}
