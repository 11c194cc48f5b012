import { isDeepStrictEqual } from 'node:util';
import { defaultValue } from '../config/load.js';
import { SETTINGS, type Config } from '../config/schema.js';

/**
 * Settings this version accepts and validates but does not act on yet (metrics sampling). Setting
 * one is reported, never ignored silently, and never shown as in effect.
 */
export const INACTIVE_SETTINGS: readonly (keyof Config)[] = ['metricsIntervalMs'];

/** The inactive settings that `config` sets, by env name, with their values as text. */
export function notActedOn(config: Config): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of inactiveSettings(config)) {
    const setting = SETTINGS.find((s) => s.env === name);
    if (setting) out[name] = setting.format(config[setting.key]);
  }
  return out;
}

/** The env names of inactive settings that differ from their defaults in `config`. */
export function inactiveSettings(config: Config): string[] {
  const names: string[] = [];
  for (const setting of SETTINGS) {
    if (!INACTIVE_SETTINGS.includes(setting.key)) continue;
    if (setting.key === 'checks') {
      if (Object.keys(config.checks).length > 0) names.push(setting.env);
    } else if (!isDeepStrictEqual(config[setting.key], defaultValue(setting))) {
      names.push(setting.env);
    }
  }
  return names;
}

/** The config tags (`<prefix>config.<name>`) that set an inactive setting, from applyLive's sources. */
export function inactiveTags(sources: Partial<Record<keyof Config, string>>, tagPrefix: string): string[] {
  return SETTINGS.filter((s) => INACTIVE_SETTINGS.includes(s.key) && (sources[s.key] === 'device-tag' || sources[s.key] === 'fleet-tag'))
    .map((s) => `${tagPrefix}config.${s.tag ?? ''}`);
}
