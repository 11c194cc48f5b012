/** The settings in effect: the environment's, with live `config.` tags applied at every poll. */
import type { Logger } from '../lib/logger.js';
import { applyLive } from '../config/live.js';
import type { Config } from '../config/schema.js';

/** Holds the configuration in effect and the problems of the live tags. */
export class LiveSettings {
  /** The configuration in effect now. */
  current: Config;
  /** One line per bad or unknown live tag. */
  problems: readonly string[] = [];

  constructor(private readonly base: Config, private readonly log: Logger) {
    this.current = base;
  }

  /** Applies the tags of a poll; logs a changed log level. */
  apply(deviceTags: Readonly<Record<string, string>>, fleetTags: Readonly<Record<string, string>>): void {
    const live = applyLive(this.base, deviceTags, fleetTags, this.current);
    if (live.config.logLevel !== this.current.logLevel) {
      this.log.info({ from: this.current.logLevel, to: live.config.logLevel }, 'log level changed by tag');
      this.log.level = live.config.logLevel;
    }
    this.current = live.config;
    this.problems = live.problems;
  }
}
