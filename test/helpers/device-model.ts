/**
 * Fast in-memory models of what surrounds the agent, for property tests over simulated days: the
 * supervisor with its services, container ids and boots, which records every call that acts and
 * the intent it belongs to; and the cloud with the device's tags. Each agent process reaches them
 * through its gate (agent-process.ts), so a dead process' calls never arrive nor answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudPort, PollResult, ServiceVerb, SupervisorPort, TagsPort } from '../../src/agent/ports.js';
import { AgentError, UnreachableError } from '../../src/lib/errors.js';
import type { ManualClock } from '../../src/lib/clock.js';
import type { AgentProcess } from './agent-process.js';

/** One call that acted on the device, and the intent it was made for. */
export interface Effect {
  /** Wall time of the call. */
  wall: number;
  /** The command the call belongs to: reboot, restart, restart-service, stop-service, start-service. */
  command: string;
  /** The service it named ('' for the device or the app). */
  target: string;
  /** The journal's key of the intent (read from the file on disk at the call); null when none was found. */
  key: string | null;
  origin: string;
  /** The agent process that made the call. */
  proc: number;
}

/** How a service misbehaves: once (it exits; a restart heals it), or in a loop (it exits again after each start, until the loop ends). */
interface ServiceModel {
  status: 'Running' | 'exited';
  containerId: string;
  fault: 'none' | 'exit' | 'loop';
  /** Wall time a loop ends (the engine then starts the service for good). */
  healWall: number;
  /** Wall time the looping service exits again after its last restart. */
  relapseWall: number | null;
}

/** What the supervisor does to the agent after a call (the world decides when it happens). */
export interface DeviceHooks {
  /** The device reboots: a new boot id, every container started again, the agent dies. `replied`: the call answered first. */
  reboot(replied: boolean): void;
  /** The agent's container is recreated on the same boot (a restart of the app or of its own service). */
  recreateAgent(replied: boolean): void;
}

/** Whether the supervisor answers a call that kills the agent before the agent dies. */
export type Reply = (command: string) => boolean;

/** A fixed appId and the agent's own service name. */
export const APP_ID = 1_001;
export const OWN_SERVICE = 'fleet-agent';

/** The supervisor model: services, container ids, the boot id, and every effect with its intent. */
export class DeviceModel {
  bootId = 'boot-0';
  boots = 0;
  readonly effects: Effect[] = [];
  /** What went wrong at a call (a call without its intent on disk, a second effect for a key). */
  readonly problems: string[] = [];
  private readonly services = new Map<string, ServiceModel>();
  private containers = 0;

  constructor(
    private readonly clock: ManualClock,
    private readonly journalPath: string,
    names: readonly string[],
    private readonly hooks: DeviceHooks,
    private readonly replies: Reply,
    private readonly relapseMs: () => number,
  ) {
    for (const name of names) this.services.set(name, { status: 'Running', containerId: this.newContainer(name), fault: 'none', healWall: 0, relapseWall: null });
  }

  private newContainer(name: string): string {
    return `${name}-${++this.containers}`;
  }

  /**
   * A service's status now: a looping one exits again a few minutes after each start, until its
   * loop ends; then the engine's restart policy brings it back for good.
   */
  status(name: string): 'Running' | 'exited' {
    const s = this.services.get(name);
    if (!s) return 'exited';
    const wall = this.clock.wall();
    if (s.fault === 'loop' && wall >= s.healWall) this.start(name, s);
    else if (s.fault === 'loop' && s.status === 'Running' && s.relapseWall !== null && wall >= s.relapseWall) {
      s.status = 'exited';
      s.relapseWall = null;
    }
    return s.status;
  }

  /** The service exits (once, or in a loop until `healWall`). */
  fail(name: string, fault: 'exit' | 'loop', healWall = 0): void {
    const s = this.services.get(name);
    if (!s || name === OWN_SERVICE) return;
    s.status = 'exited';
    s.fault = fault;
    s.healWall = healWall;
    s.relapseWall = null;
  }

  /** Every service fixed and running again (a new release, an operator at the device). */
  healAll(): void {
    for (const [name, s] of this.services) if (name !== OWN_SERVICE) this.start(name, s, true);
  }

  private start(name: string, s: ServiceModel, heal = false): void {
    s.containerId = this.newContainer(name);
    s.status = 'Running';
    if (heal || s.fault === 'exit' || (s.fault === 'loop' && this.clock.wall() >= s.healWall)) s.fault = 'none';
    s.relapseWall = s.fault === 'loop' ? this.clock.wall() + this.relapseMs() : null;
  }

  /** A new boot: every container starts again. */
  powerCycle(): void {
    this.boots += 1;
    this.bootId = `boot-${this.boots}`;
    for (const [name, s] of this.services) this.start(name, s);
  }

  /**
   * Which intent a call belongs to: the journal entry on disk (read at the call, so only what was
   * fsynced counts) of this command in `running` with its call in flight, sent at this very moment.
   * Entries are kept in change order, and the intent is written just before its call, so when
   * several match (two calls at one instant of the manual clock) the call is the newest one's,
   * and each of the others must be a call already made.
   */
  private intentOf(command: string, target: string): { key: string | null; origin: string } {
    const wall = this.clock.wall();
    let entries: { command: string; token: string; origin?: string; state: string; sending: boolean; sentAt?: number; services: string[] }[] = [];
    try {
      entries = (JSON.parse(readFileSync(this.journalPath, 'utf8')) as { entries: typeof entries }).entries;
    } catch {
      // no journal on disk: found below as a call without its intent
    }
    const what = `${new Date(wall).toISOString()}: ${command}${target ? ` ${target}` : ''}`;
    const mine = entries.filter((e) => e.command === command && e.state === 'running' && e.sending && e.sentAt === wall && (target === '' || e.services.includes(target)));
    const e = mine.at(-1);
    if (e === undefined) {
      this.problems.push(`${what} called without its intent on disk (running, its call in flight, sent now)`);
      return { key: null, origin: '?' };
    }
    for (const other of mine.slice(0, -1)) {
      if (!this.effects.some((f) => f.key === other.token && f.command === command && f.target === target)) {
        this.problems.push(`${what} called while two intents claim it on disk: ${other.token} and ${e.token}`);
      }
    }
    return { key: e.token, origin: e.origin ?? 'operator' };
  }

  private record(proc: AgentProcess, command: string, target = ''): void {
    const { key, origin } = this.intentOf(command, target);
    if (key !== null && this.effects.some((e) => e.key === key && e.command === command && e.target === target)) {
      this.problems.push(`${new Date(this.clock.wall()).toISOString()}: a second ${command}${target ? ` ${target}` : ''} for the intent ${key}`);
    }
    this.effects.push({ wall: this.clock.wall(), command, target, key, origin, proc: proc.id });
  }

  /** The supervisor port of one agent process. */
  port(proc: AgentProcess): SupervisorPort {
    const kills = (command: string, hook: (replied: boolean) => void): Record<string, never> => {
      const replied = this.replies(command);
      if (!replied) proc.die();
      hook(replied);
      return {};
    };
    return {
      ping: () => proc.gate(() => 'OK'),
      version: () => proc.gate(() => '19.0.5'),
      blink: () => proc.gate(() => {
        this.record(proc, 'identify');
        return {};
      }),
      update: () => proc.gate(() => {
        this.record(proc, 'update');
        return 'triggered' as const;
      }),
      reboot: () => proc.gate(() => {
        this.record(proc, 'reboot');
        return kills('reboot', (r) => this.hooks.reboot(r));
      }),
      shutdown: () => proc.gate(() => {
        this.record(proc, 'shutdown');
        throw new AgentError('INTERNAL', 'the model has no shutdown');
      }),
      purge: () => proc.gate(() => {
        this.record(proc, 'purge');
        throw new AgentError('INTERNAL', 'the model has no purge');
      }),
      restartApp: () => proc.gate(() => {
        this.record(proc, 'restart');
        for (const [name, s] of this.services) this.start(name, s);
        return kills('restart', (r) => this.hooks.recreateAgent(r));
      }),
      serviceAction: (verb: ServiceVerb, target: string) => proc.gate(() => {
        this.record(proc, `${verb}-service`, target);
        const s = this.services.get(target);
        if (!s) throw new AgentError('NOT_FOUND', `no service ${target}`);
        if (verb === 'stop') s.status = 'exited';
        else if (verb === 'start' ? s.status !== 'Running' : true) this.start(target, s);
        return target === OWN_SERVICE ? kills(`${verb}-service`, (r) => this.hooks.recreateAgent(r)) : {};
      }),
      applicationsState: () => proc.gate(() => ({
        'demo-app': {
          appId: APP_ID,
          services: Object.fromEntries([...this.services.keys()].map((name) => [name, { status: this.status(name) }])),
        },
      })),
      containerIds: () => proc.gate(() => {
        const ids: Record<string, string> = {};
        for (const [name, s] of this.services) {
          this.status(name); // a loop that ended runs in a new container
          ids[name] = s.containerId;
        }
        return ids;
      }),
      stateStatus: () => proc.gate(() => ({
        images: [...this.services.keys()].map((serviceName, i) => ({ appId: APP_ID, imageId: 100 + i, serviceName })),
        containers: [],
      })),
    };
  }
}

/** What one successful poll served, and to which agent process. */
export interface Served {
  proc: number;
  wall: number;
  deviceTags: Readonly<Record<string, string>>;
  fleetTags: Readonly<Record<string, string>>;
}

/**
 * The cloud model: the device's tags (operators' commands and the agent's acks) and its fleet's
 * tags (fleet commands; served, as the real client reads them, beside the device's in the one
 * poll), reachable or not. A request takes a few turns of the event loop, not simulated time: the agent counts itself
 * busy while it waits for the network, and the world moves the clock only when it is idle.
 */
export class CloudModel {
  online = true;
  readonly tags = new Map<string, string>();
  /** The fleet's tags (the agent never writes them). */
  readonly fleetTags = new Map<string, string>();
  /** Ids of the processes that polled successfully. */
  readonly polled = new Set<number>();
  /** Called at each successful poll with what it served (the request has landed; its answer is on its way). */
  onServed: (served: Served) => void = () => undefined;

  constructor(private readonly device: PollResult['device'], private readonly turns: () => number, private readonly clock: ManualClock) {}

  /** A request's round trip: refused at once while offline; else it lands a few turns later, even if its process died meanwhile. */
  private async request<T>(handle: () => T): Promise<T> {
    if (!this.online) throw new UnreachableError('cloud', 'UNREACHABLE', 'cloud unreachable (simulated outage)', { mayHaveArrived: false });
    for (let i = this.turns(); i > 0; i--) await new Promise<void>((resolve) => setImmediate(resolve));
    return handle();
  }

  /** The cloud port of one agent process (one request per poll). */
  port(proc: AgentProcess): CloudPort {
    return {
      poll: () => proc.gate(() => this.request(() => {
        this.polled.add(proc.id);
        const served = { proc: proc.id, wall: this.clock.wall(), deviceTags: Object.fromEntries(this.tags), fleetTags: Object.fromEntries(this.fleetTags) };
        this.onServed(served);
        return { device: this.device, deviceTags: served.deviceTags, fleetTags: served.fleetTags };
      })),
    };
  }

  /** The tag writer of one agent process (what an operator sees). */
  tagsPort(proc: AgentProcess): TagsPort {
    const write = (tags: Readonly<Record<string, string>>) => proc.gate(() => this.request(() => {
      for (const [k, v] of Object.entries(tags)) this.tags.set(k, v);
      return {};
    }));
    return { set: write, setInCloud: write };
  }
}

/** The journal file's path in a data dir (where the model reads intents). */
export function journalPathIn(dir: string): string {
  return join(dir, 'journal.json');
}
