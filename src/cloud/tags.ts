import type { Logger } from '../lib/logger.js';
import { UnreachableError, describe } from '../lib/errors.js';
import type { CloudClient } from './client.js';

/** The part of the supervisor client the tag writer needs. */
export interface SupervisorTagPort {
  supportsTagPatch(): Promise<boolean>;
  patchDeviceTags(tags: Record<string, string>): Promise<void>;
}

/** The cloud client methods the tag writer needs. */
export type CloudTagPort = Pick<CloudClient, 'setTags' | 'removeTag'>;

/**
 * Writes the agent's tags (acks, reports). Through the supervisor's `PATCH /v2/device/tags` when
 * it supports it (≥ 17.8.0: persisted, coalesced and retried offline); otherwise, when the
 * supervisor cannot be reached, and for deletes, directly to the cloud.
 */
export class TagWriter {
  private readonly cloud: CloudTagPort;
  private readonly supervisor: SupervisorTagPort | undefined;
  private readonly log: Logger | undefined;

  constructor(opts: { cloud: CloudTagPort; supervisor?: SupervisorTagPort; log?: Logger }) {
    this.cloud = opts.cloud;
    this.supervisor = opts.supervisor;
    this.log = opts.log;
  }

  /** Sets tags; says which path carried them. Nothing is sent for an empty set. */
  async set(tags: Record<string, string>): Promise<'supervisor' | 'cloud'> {
    if (this.supervisor && Object.keys(tags).length > 0) {
      try {
        if (await this.supervisor.supportsTagPatch()) {
          await this.supervisor.patchDeviceTags(tags);
          return 'supervisor';
        }
      } catch (err) {
        if (!(err instanceof UnreachableError) || err.code === 'ABORTED') throw err;
        this.log?.warn({ reason: describe(err) }, 'supervisor unreachable; writing tags directly to the cloud');
      }
    }
    await this.cloud.setTags(tags);
    return 'cloud';
  }

  /**
   * Sets tags directly in the cloud, never through the supervisor's queue: resolves only once the
   * cloud has stored them (a record that must exist before an effect that may wipe the journal).
   */
  async setInCloud(tags: Record<string, string>): Promise<void> {
    await this.cloud.setTags(tags);
  }

  /** Removes a tag (the supervisor cannot delete, so always directly). */
  async remove(key: string): Promise<void> {
    await this.cloud.removeTag(key);
  }
}
