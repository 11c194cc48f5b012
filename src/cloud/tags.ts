import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { AgentError, describe } from '../lib/errors.js';
import type { CloudClient } from './client.js';

/** The part of the supervisor client the tag writer needs. */
export interface SupervisorTagPort {
  supportsTagPatch(): Promise<boolean>;
  patchDeviceTags(tags: Record<string, string>): Promise<void>;
}

/** The cloud client methods the tag writer needs. */
export type CloudTagPort = Pick<CloudClient, 'setTags' | 'removeTag'>;

/** How long tags go directly to the cloud after the supervisor path failed, before it is tried again. */
export const SUPERVISOR_RETRY_MS = 5 * 60_000;

/** What the tag writer needs. */
export interface TagWriterOptions {
  cloud: CloudTagPort;
  supervisor?: SupervisorTagPort;
  /** Times the pause of the supervisor path after it failed. */
  clock: Clock;
  log?: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** Applied to every value written: acks carry error text, which may echo a key. */
  redact?: (text: string) => string;
  /** Default SUPERVISOR_RETRY_MS. */
  supervisorRetryMs?: number;
}

/**
 * Writes the agent's tags (acks, reports). Through the supervisor's `PATCH /v2/device/tags` when
 * it supports it (≥ 17.8.0: persisted, coalesced and retried offline). Any failure of that path
 * (unreachable, 5xx, 401, an unreadable or oversized reply) sends the write directly to the cloud
 * instead, and the supervisor path rests for `supervisorRetryMs`; each kind of failure is logged
 * once until the supervisor carries tags again. Deletes always go directly to the cloud.
 */
export class TagWriter {
  private readonly opts: TagWriterOptions;
  private restingUntil: number | undefined;
  /** Kinds of supervisor failure already logged since the supervisor last carried tags. */
  private readonly reported = new Set<string>();

  constructor(opts: TagWriterOptions) {
    this.opts = opts;
  }

  /** Sets tags; says which path carried them. Nothing is sent for an empty set. */
  async set(tags: Readonly<Record<string, string>>): Promise<'supervisor' | 'cloud'> {
    const values = this.redacted(tags);
    const supervisor = this.opts.supervisor;
    if (supervisor && Object.keys(values).length > 0 && !this.resting()) {
      try {
        if (await supervisor.supportsTagPatch()) {
          await supervisor.patchDeviceTags(values);
          this.carried();
          return 'supervisor';
        }
      } catch (err) {
        if (err instanceof AgentError && err.code === 'ABORTED') throw err;
        this.failed(err);
      }
    }
    await this.opts.cloud.setTags(values);
    return 'cloud';
  }

  /**
   * Sets tags directly in the cloud, never through the supervisor's queue: resolves only once the
   * cloud has stored them (a record that must exist before an effect that may wipe the journal).
   */
  async setInCloud(tags: Readonly<Record<string, string>>): Promise<void> {
    await this.opts.cloud.setTags(this.redacted(tags));
  }

  private redacted(tags: Readonly<Record<string, string>>): Record<string, string> {
    const redact = this.opts.redact;
    return redact ? Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, redact(v)])) : { ...tags };
  }

  /** Removes a tag (the supervisor cannot delete, so always directly). */
  async remove(key: string): Promise<void> {
    await this.opts.cloud.removeTag(key);
  }

  private resting(): boolean {
    return this.restingUntil !== undefined && this.opts.clock.now() < this.restingUntil;
  }

  private failed(err: unknown): void {
    const retryMs = this.opts.supervisorRetryMs ?? SUPERVISOR_RETRY_MS;
    this.restingUntil = this.opts.clock.now() + retryMs;
    const kind = err instanceof AgentError ? err.code : 'INTERNAL';
    const fields = { reason: describe(err), retryInS: Math.round(retryMs / 1000) };
    const message = 'the supervisor did not take the tags; writing them directly to the cloud for now';
    if (this.reported.has(kind)) {
      this.opts.log?.debug(fields, message);
      return;
    }
    this.reported.add(kind);
    this.opts.log?.warn(fields, message);
  }

  private carried(): void {
    this.restingUntil = undefined;
    if (this.reported.size === 0) return;
    this.reported.clear();
    this.opts.log?.info('the supervisor carries tags again');
  }
}
