import { closest } from '../lib/closest.js';
import { ConfigError } from '../lib/errors.js';
import { missingTokenProblem } from './net.js';
import { clip } from '../lib/text.js';
import { parseHttpUrl, redactUserinfo } from './parsers.js';
import { CHECK_PREFIX, SETTINGS, type Config, type Setting } from './schema.js';

type Env = Readonly<Record<string, string | undefined>>;

/** A setting's default value, parsed from its `default` text (`–` is null, or `{}` for per-service checks). */
export function defaultValue(setting: Setting): unknown {
  if (setting.default === '–') return setting.perService === true ? {} : null;
  return setting.parse(setting.default);
}

/** The configuration with every setting at its default. */
export function defaultConfig(): Config {
  return freezeConfig(Object.fromEntries(SETTINGS.map((s) => [s.key, defaultValue(s)])) as unknown as Config);
}

/** How a raw value appears in a message: quoted, clipped, credentials in URLs hidden, secrets never shown. */
export function showValue(setting: Setting, raw: string): string {
  if (setting.secret === true) return ' (value hidden)';
  return `=${JSON.stringify(redactUserinfo(clip(raw.trim(), 60)))}`;
}

/** The reason an Error-like value carries. */
export function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Freezes a Config and the lists and maps inside it. */
export function freezeConfig(config: Config): Config {
  for (const value of Object.values(config)) {
    if (value !== null && typeof value === 'object') Object.freeze(value);
  }
  return Object.freeze(config);
}

/** The service name an `AGENT_CHECK_<SERVICE>` variable stands for (lower-case, `_` → `-`). */
export function checkServiceName(envName: string): string {
  return envName.slice(CHECK_PREFIX.length).toLowerCase().replace(/_/g, '-');
}

function readChecks(env: Env, setting: Setting, problems: string[]): Record<string, string> {
  const checks: Record<string, string> = {};
  for (const name of Object.keys(env).filter((k) => k.startsWith(CHECK_PREFIX)).sort()) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const service = checkServiceName(name);
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(service)) {
      problems.push(`${name}: the variable must name a service, like AGENT_CHECK_MY_API`);
      continue;
    }
    try {
      checks[service] = parseHttpUrl(raw);
    } catch (err) {
      problems.push(`${name}${showValue(setting, raw)}: ${reason(err)}`);
    }
  }
  return checks;
}

/**
 * Reads the agent's settings from an environment, frozen. Empty variables count as unset.
 * Throws one ConfigError listing every problem: bad values, misspelt AGENT_* names, missing token.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    if (setting.perService === true) {
      values[setting.key] = readChecks(env, setting, problems);
      continue;
    }
    const raw = env[setting.env];
    if (raw === undefined || raw.trim() === '') {
      values[setting.key] = defaultValue(setting);
      continue;
    }
    try {
      values[setting.key] = setting.parse(raw);
    } catch (err) {
      problems.push(`${setting.env}${showValue(setting, raw)}: ${reason(err)}`);
    }
  }

  // Fleet variables reach every service, so an AGENT_* name far from every setting may well be
  // another service's own (AGENT_NAME): not ours to refuse. One close to a setting is a typo.
  const known = SETTINGS.filter((s) => s.perService !== true).map((s) => s.env);
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('AGENT_') || name.startsWith(CHECK_PREFIX) || known.includes(name)) continue;
    const hint = closest(name, known);
    if (hint !== undefined) problems.push(`unknown setting ${name}; did you mean ${hint}?`);
  }

  const bind = values['httpBind'];
  const token = values['httpToken'];
  const tokenProblem = typeof bind === 'string' && token !== undefined ? missingTokenProblem(bind, token as string | null) : undefined;
  if (tokenProblem !== undefined && !problems.some((p) => p.startsWith('AGENT_HTTP_TOKEN'))) problems.push(tokenProblem);

  if (problems.length > 0) throw new ConfigError(problems);
  return freezeConfig(values as unknown as Config);
}
