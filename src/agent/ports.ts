/**
 * The narrow views of the outside world the agent needs. The real clients (supervisor, cloud,
 * tag writer) satisfy these structurally; tests may pass anything with the same shape.
 */

/** A supervisor service verb (`/v2/applications/:appId/<verb>-service`). */
export type ServiceVerb = 'restart' | 'stop' | 'start';

/** One service of an app as `GET /v2/applications/state` reports it. */
export interface ServiceStatePort {
  status: string;
  image?: string;
}

/** The supervisor calls the agent makes; every mutating one goes through the runner. */
export interface SupervisorPort {
  ping(signal?: AbortSignal): Promise<unknown>;
  version(signal?: AbortSignal): Promise<string>;
  blink(): Promise<unknown>;
  reboot(opts: { force: boolean }): Promise<unknown>;
  shutdown(opts: { force: boolean }): Promise<unknown>;
  update(opts: { force: boolean }): Promise<'triggered' | 'ignored'>;
  restartApp(opts: { force: boolean }): Promise<unknown>;
  purge(opts: { force: boolean }): Promise<unknown>;
  serviceAction(verb: ServiceVerb, target: string, opts: { force: boolean }): Promise<unknown>;
  applicationsState(): Promise<Readonly<Record<string, { appId: number; updateStatus?: string | undefined; services: Readonly<Record<string, ServiceStatePort>> }>>>;
  /** `GET /v2/containerId`: service name → container id (how a recreated container is seen). */
  containerIds(): Promise<Readonly<Record<string, string>>>;
  /** `GET /v2/state/status`: where the agent learns image ids (a tag may name a service by one). */
  stateStatus(): Promise<{ images: readonly ImagePort[]; containers: readonly ImagePort[] }>;
}

/** An image or container of `GET /v2/state/status`: which service an image id belongs to. */
export interface ImagePort {
  appId: number;
  imageId: number;
  serviceName: string;
}

/** Asks a service's own health endpoint (`AGENT_CHECK_<SERVICE>`). */
export interface CheckPort {
  /** Null when the URL answered 2xx in time; otherwise why not (status, timeout, refused). */
  check(url: string, signal: AbortSignal): Promise<string | null>;
}

/** What one cloud poll returns (one request). */
export interface PollResult {
  device: { id: number; uuid: string; appId: number; appName?: string };
  deviceTags: Readonly<Record<string, string>>;
  fleetTags: Readonly<Record<string, string>>;
}

/** The cloud calls the agent makes. */
export interface CloudPort {
  poll(opts: { tagPrefix?: string; signal?: AbortSignal }): Promise<PollResult>;
  /** The monotonic instant before which the cloud asked for no requests (Retry-After); 0 when none. */
  notBefore?(): number;
  /** Requests sent, by outcome (the real client counts them; fakes may not). */
  requestOutcomes?(): { ok: number; error: number; rate_limited: number };
}

/** Writes the device's own tags (through the supervisor when it can, else to the cloud). */
export interface TagsPort {
  set(tags: Readonly<Record<string, string>>): Promise<unknown>;
  /** Writes straight to the cloud and resolves once the cloud has stored them (no queue in between). */
  setInCloud(tags: Readonly<Record<string, string>>): Promise<unknown>;
}

/**
 * How the agent's cloud client is built: a 429 (or 503 with Retry-After) fails the call at once
 * instead of being waited out inside it, and calls fail without a request while the hold lasts.
 * The agent then plans its next poll itself (Retry-After plus a random part of an interval): a
 * fleet told the same Retry-After would otherwise come back in the same second, and stay in step.
 */
export const AGENT_CLOUD_MANNERS = { maxRetryWaitMs: 0 } as const;
