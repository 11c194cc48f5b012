import { isDeepStrictEqual } from 'node:util';
import { closest } from '../lib/closest.js';
import { defaultValue, freezeConfig, reason, showValue } from './load.js';
import { LIVE_SETTINGS, SETTINGS, type Config, type Setting } from './schema.js';

/** Where a setting's value in effect came from. */
export type SettingSource = 'device-tag' | 'fleet-tag' | 'env' | 'default';

/** The configuration after live tags, the problems found in them, and where each value came from. */
export interface LiveResult {
  config: Config;
  /** One line per bad or unknown tag, e.g. `tag agent.config.poll-interval="3s": must be at least 10s; keeping 5m`. */
  problems: string[];
  /** Absent for a setting whose bad tag kept a value that an earlier tag had set. */
  sources: Partial<Record<keyof Config, SettingSource>>;
}

type Tags = Readonly<Record<string, string>>;

function baseSource(setting: Setting, base: Config): SettingSource {
  return isDeepStrictEqual(base[setting.key], defaultValue(setting)) ? 'default' : 'env';
}

/** The tag name an operator might try for a setting that is not live (`AGENT_HTTP_PORT` → `http-port`). */
function guessedTag(setting: Setting): string {
  return setting.env.replace(/^AGENT_/, '').toLowerCase().replace(/_/g, '-');
}

function unknownTags(prefix: string, tags: Tags, label: string, problems: string[]): void {
  const live = LIVE_SETTINGS.map((s) => s.tag ?? '');
  for (const name of Object.keys(tags).sort()) {
    if (!name.startsWith(prefix)) continue;
    const short = name.slice(prefix.length);
    if (live.includes(short)) continue;
    const fixed = SETTINGS.find((s) => s.tag === null && s.perService !== true && guessedTag(s) === short);
    if (fixed !== undefined) {
      problems.push(`${label} ${name}: not a live setting; set ${fixed.env} instead`);
      continue;
    }
    const hint = closest(short, live);
    problems.push(`${label} ${name}: unknown setting${hint === undefined ? '' : `; did you mean ${prefix}${hint}?`}`);
  }
}

/**
 * Applies live settings from tags `<prefix>config.<tag>` over the environment's config:
 * device tag > fleet tag > env > default. Empty tag values count as unset. A bad value keeps the
 * previous value (`previous ?? base`) and is reported in `problems`, as are unknown config tags.
 */
export function applyLive(base: Config, deviceTags: Tags, fleetTags: Tags, previous?: Config): LiveResult {
  const prefix = `${base.tagPrefix}config.`;
  const prev = previous ?? base;
  const values: Record<string, unknown> = { ...base };
  const problems: string[] = [];
  const sources: Partial<Record<keyof Config, SettingSource>> = {};

  for (const setting of SETTINGS) {
    if (setting.tag === null) {
      sources[setting.key] = baseSource(setting, base);
      continue;
    }
    const name = prefix + setting.tag;
    const device = deviceTags[name];
    const fleet = fleetTags[name];
    const fromDevice = device !== undefined && device.trim() !== '';
    const raw = fromDevice ? device : fleet !== undefined && fleet.trim() !== '' ? fleet : undefined;
    if (raw === undefined) {
      sources[setting.key] = baseSource(setting, base);
      continue;
    }
    try {
      values[setting.key] = setting.parse(raw);
      sources[setting.key] = fromDevice ? 'device-tag' : 'fleet-tag';
    } catch (err) {
      const kept = prev[setting.key];
      values[setting.key] = kept;
      if (isDeepStrictEqual(kept, base[setting.key])) sources[setting.key] = baseSource(setting, base);
      const label = fromDevice ? 'tag' : 'fleet tag';
      problems.push(`${label} ${name}${showValue(setting, raw)}: ${reason(err)}; keeping ${setting.format(kept)}`);
    }
  }

  unknownTags(prefix, deviceTags, 'tag', problems);
  unknownTags(prefix, fleetTags, 'fleet tag', problems);
  return { config: freezeConfig(values as unknown as Config), problems, sources };
}
