import { ConfigError } from '../lib/errors.js';

/** The variables balenaOS injects into the container (CONTRACT §1), as the agent uses them. */
export interface BalenaEnv {
  supervisorAddress: string | undefined;
  supervisorApiKey: string | undefined;
  appId: number | undefined;
  deviceUuid: string | undefined;
  apiUrl: string | undefined;
  apiKey: string | undefined;
  deviceType: string | undefined;
  deviceArch: string | undefined;
  serviceName: string | undefined;
}

/** What a command needs from the environment. */
export type Need = 'supervisor' | 'app' | 'cloud' | 'device';

const VARS: Record<Need, readonly string[]> = {
  supervisor: ['BALENA_SUPERVISOR_ADDRESS', 'BALENA_SUPERVISOR_API_KEY'],
  app: ['BALENA_APP_ID'],
  device: ['BALENA_DEVICE_UUID'],
  cloud: ['BALENA_API_URL', 'BALENA_API_KEY', 'BALENA_DEVICE_UUID'],
};

const HINT: Record<string, string> = {
  BALENA_SUPERVISOR_ADDRESS: "add the label io.balena.features.supervisor-api: '1' to this service",
  BALENA_SUPERVISOR_API_KEY: "add the label io.balena.features.supervisor-api: '1' to this service",
  BALENA_API_URL: "add the label io.balena.features.balena-api: '1' to this service",
  BALENA_API_KEY: "add the label io.balena.features.balena-api: '1' to this service",
  BALENA_APP_ID: 'set by balenaOS in every container',
  BALENA_DEVICE_UUID: 'set by balenaOS in every container',
};

function value(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const v = env[name] ?? env[name.replace(/^BALENA_/, 'RESIN_')];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Reads the balena variables (falling back to the legacy RESIN_ names). */
export function readBalenaEnv(env: Readonly<Record<string, string | undefined>>): BalenaEnv {
  const appId = value(env, 'BALENA_APP_ID');
  return {
    supervisorAddress: value(env, 'BALENA_SUPERVISOR_ADDRESS'),
    supervisorApiKey: value(env, 'BALENA_SUPERVISOR_API_KEY'),
    appId: appId !== undefined && /^\d+$/.test(appId) ? Number(appId) : undefined,
    deviceUuid: value(env, 'BALENA_DEVICE_UUID'),
    apiUrl: value(env, 'BALENA_API_URL'),
    apiKey: value(env, 'BALENA_API_KEY'),
    deviceType: value(env, 'BALENA_DEVICE_TYPE'),
    deviceArch: value(env, 'BALENA_DEVICE_ARCH'),
    serviceName: value(env, 'BALENA_SERVICE_NAME'),
  };
}

/** One problem with a balena variable: which, what is wrong, and what provides or fixes it. */
export interface BalenaEnvProblem {
  name: string;
  missing: boolean;
  message: string;
  hint: string;
}

/** Every problem with the variables a command needs (missing, or not of their form). */
export function checkBalenaEnv(env: Readonly<Record<string, string | undefined>>, needs: readonly Need[]): BalenaEnvProblem[] {
  const problems: BalenaEnvProblem[] = [];
  for (const name of [...new Set(needs.flatMap((n) => VARS[n]))]) {
    const v = value(env, name);
    const hint = HINT[name] ?? 'required';
    if (v === undefined) {
      problems.push({ name, missing: true, message: `${name} is not set (${hint})`, hint });
    } else if (name === 'BALENA_APP_ID' && !/^\d+$/.test(v)) {
      problems.push({ name, missing: false, message: `${name} must be a number, got "${v.slice(0, 20)}"`, hint });
    } else if ((name === 'BALENA_SUPERVISOR_ADDRESS' || name === 'BALENA_API_URL') && !/^https?:\/\/[^\s/]+/.test(v)) {
      problems.push({ name, missing: false, message: `${name} must be an http(s) URL, got "${v.slice(0, 60)}"`, hint });
    }
  }
  return problems;
}

/** Throws a ConfigError naming every variable a command needs but the environment lacks. */
export function requireBalenaEnv(env: Readonly<Record<string, string | undefined>>, needs: readonly Need[]): BalenaEnv {
  const problems = checkBalenaEnv(env, needs);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => p.message));
  return readBalenaEnv(env);
}
