import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { checkBalenaEnv, readBalenaEnv } from '../config/balena-env.js';
import { defaultConfig, loadConfig } from '../config/load.js';
import type { Clock } from '../lib/clock.js';
import { AgentError, ConfigError, HttpError, UnreachableError, describe } from '../lib/errors.js';
import { SupervisorClient } from '../supervisor/client.js';
import { describeVersion, supports } from '../supervisor/version.js';
import { CloudClient } from '../cloud/client.js';
import { scrub } from '../lib/logger.js';
import { COMMON_FLAGS, parseCommandArgs } from './args.js';
import type { Runner, RunnersOf } from './commands.js';

/** The outcome of one doctor check. */
export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  /** How to fix it, when it is not ok. */
  fix?: string;
  /** Why it failed, for the exit code. */
  cause?: 'unreachable' | 'refused';
}

/** What the doctor needs; injected so tests run it against the simulators. */
export interface DoctorDeps {
  env: Readonly<Record<string, string | undefined>>;
  dispatcher: Dispatcher;
  clock: Clock;
  timeoutMs?: number;
}

const MAX_SKEW_MS = 5 * 60_000;

function fail(name: string, message: string, fix: string, cause?: Check['cause']): Check {
  return { name, status: 'fail', message, fix, ...(cause ? { cause } : {}) };
}

function causeOf(err: unknown): Check['cause'] {
  if (err instanceof UnreachableError) return 'unreachable';
  if (err instanceof HttpError && (err.status === 401 || err.status === 403)) return 'refused';
  return undefined;
}

function environment(env: DoctorDeps['env']): Check {
  const problems = checkBalenaEnv(env, ['supervisor', 'app', 'device', 'cloud']);
  if (problems.length === 0) return { name: 'environment', status: 'ok', message: 'balena environment variables present' };
  const byHint = new Map<string, string[]>();
  for (const p of problems.filter((p) => p.missing)) byHint.set(p.hint, [...(byHint.get(p.hint) ?? []), p.name]);
  const missing = problems.filter((p) => p.missing).map((p) => p.name);
  const malformed = problems.filter((p) => !p.missing).map((p) => p.message);
  const message = [...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []), ...malformed].join('; ');
  const fix = [...byHint.entries()].map(([hint, names]) => `${names.join(', ')}: ${hint}`).join('; ');
  return fail('environment', message, fix || 'fix the variables named above');
}

async function supervisorChecks(deps: DoctorDeps): Promise<Check[]> {
  const env = readBalenaEnv(deps.env);
  if (!env.supervisorAddress || !env.supervisorApiKey || env.appId === undefined) {
    return [fail('supervisor', 'not checked: BALENA_SUPERVISOR_ADDRESS, BALENA_SUPERVISOR_API_KEY and BALENA_APP_ID are needed', "add the label io.balena.features.supervisor-api: '1' to this service")];
  }
  const supervisor = new SupervisorClient({
    baseUrl: env.supervisorAddress,
    apiKey: env.supervisorApiKey,
    appId: env.appId,
    dispatcher: deps.dispatcher,
    clock: deps.clock,
    timeoutMs: deps.timeoutMs ?? 5_000,
  });
  try {
    await supervisor.ping();
  } catch (err) {
    return [fail('supervisor', `unreachable at ${env.supervisorAddress}: ${describe(err)}`, 'check that the supervisor is running and BALENA_SUPERVISOR_ADDRESS is right (it restarts during updates: try again in a minute)', causeOf(err) ?? 'unreachable')];
  }
  const checks: Check[] = [{ name: 'supervisor', status: 'ok', message: `supervisor reachable at ${env.supervisorAddress}` }];
  try {
    const name = await supervisor.deviceName();
    checks.push({ name: 'supervisor key', status: 'ok', message: `supervisor key accepted (device name "${name}")` });
  } catch (err) {
    checks.push(
      causeOf(err) === 'refused'
        ? fail('supervisor key', `the supervisor refused BALENA_SUPERVISOR_API_KEY (${describe(err)})`, 'the key may have been regenerated: restart this service to receive the current one', 'refused')
        : fail('supervisor key', describe(err), 'check the supervisor logs', causeOf(err)),
    );
  }
  try {
    const version = await supervisor.version();
    checks.push(
      supports(version, 'tagPatch')
        ? { name: 'supervisor version', status: 'ok', message: `supervisor ${describeVersion(version)} (tags are written through the supervisor)` }
        : { name: 'supervisor version', status: 'warn', message: `supervisor ${describeVersion(version)} is older than 17.8.0: tags are written directly to the cloud`, fix: 'update the host OS to get a supervisor that queues tag writes offline' },
    );
  } catch (err) {
    checks.push(fail('supervisor version', `version unknown: ${describe(err)}`, 'check the supervisor logs', causeOf(err)));
  }
  return checks;
}

async function cloudCheck(deps: DoctorDeps): Promise<{ check: Check; serverDate: number | undefined }> {
  const env = readBalenaEnv(deps.env);
  if (!env.apiUrl || !env.apiKey || !env.deviceUuid) {
    return { check: fail('cloud', 'not checked: BALENA_API_URL, BALENA_API_KEY and BALENA_DEVICE_UUID are needed', "add the label io.balena.features.balena-api: '1' to this service"), serverDate: undefined };
  }
  const cloud = new CloudClient({
    baseUrl: env.apiUrl,
    apiKey: env.apiKey,
    deviceUuid: env.deviceUuid,
    dispatcher: deps.dispatcher,
    clock: deps.clock,
    timeoutMs: deps.timeoutMs ?? 10_000,
    maxRetries: 1,
    maxRetryWaitMs: 10_000,
  });
  try {
    const device = await cloud.device();
    const check: Check = { name: 'cloud', status: 'ok', message: `device key accepted by ${env.apiUrl} (device ${device.uuid.slice(0, 7)} "${device.deviceName}", fleet ${device.appId})` };
    return { check, serverDate: cloud.lastServerDate() };
  } catch (err) {
    const cause = causeOf(err);
    const check =
      cause === 'refused'
        ? fail('cloud', `the cloud refused BALENA_API_KEY: ${describe(err)}`, 'the device may have been deleted or frozen in the dashboard; re-provision it or unfreeze it', 'refused')
        : cause === 'unreachable'
          ? fail('cloud', `cloud unreachable: ${describe(err)}`, 'check the network connection and BALENA_API_URL', 'unreachable')
          : err instanceof AgentError && err.code === 'NOT_FOUND'
            ? fail('cloud', describe(err), 'BALENA_DEVICE_UUID and BALENA_API_KEY must belong to the same device')
            : fail('cloud', describe(err), 'try again later; if it persists, check the API status');
    return { check, serverDate: cloud.lastServerDate() };
  }
}

function settingsCheck(env: DoctorDeps['env']): { check: Check; dataDir: string } {
  try {
    const config = loadConfig(env);
    return { check: { name: 'settings', status: 'ok', message: 'AGENT_* settings valid' }, dataDir: config.dataDir };
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems.join('; ') : describe(err);
    // Never probe (or create) a directory the settings just refused; check where the agent would fall back to.
    return { check: fail('settings', problems, 'fix the AGENT_* variables named above (fleet or device variables)'), dataDir: defaultConfig().dataDir };
  }
}

async function dataDirCheck(dir: string, clock: Clock): Promise<Check> {
  const probe = join(dir, `.doctor-${Math.floor(clock.wall())}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
    return { name: 'data dir', status: 'ok', message: `data dir ${dir} writable` };
  } catch (err) {
    const code = (err as { code?: string }).code ?? describe(err);
    return fail('data dir', `data dir ${dir} is not writable (${code})`, 'mount a named volume at /data (or set AGENT_DATA_DIR to a writable directory)');
  }
}

function clockCheck(wall: number, serverDate: number | undefined): Check {
  const year = new Date(wall).getUTCFullYear();
  if (year < 2025) return fail('clock', `the wall clock says ${new Date(wall).toISOString()}`, 'the device has no time yet: check NTP (balenaOS syncs time once it is online)');
  if (serverDate === undefined) return { name: 'clock', status: 'warn', message: `wall clock ${new Date(wall).toISOString()} (not compared with the cloud: no reply)` };
  const skew = wall - serverDate;
  if (Math.abs(skew) > MAX_SKEW_MS) {
    return fail('clock', `the wall clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'ahead of' : 'behind'} the cloud`, 'check NTP on the host (balenaOS uses chrony)');
  }
  return { name: 'clock', status: 'ok', message: `clock within ${Math.max(1, Math.round(Math.abs(skew) / 1000))} s of the cloud` };
}

/** Runs every check (environment, supervisor, keys, cloud, settings, data dir, clock) and returns them in order. */
export async function runDoctor(deps: DoctorDeps): Promise<Check[]> {
  const settings = settingsCheck(deps.env);
  const [supervisor, cloud, dataDir] = await Promise.all([supervisorChecks(deps), cloudCheck(deps), dataDirCheck(settings.dataDir, deps.clock)]);
  return [environment(deps.env), ...supervisor, cloud.check, settings.check, dataDir, clockCheck(deps.clock.wall(), cloud.serverDate)];
}

/** The exit code of a doctor run: 0 all green, 5 a key refused, 3 a peer unreachable, 1 anything else failing. */
export function doctorExitCode(checks: readonly Check[]): number {
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length === 0) return 0;
  if (failed.some((c) => c.cause === 'refused')) return 5;
  if (failed.some((c) => c.cause === 'unreachable')) return 3;
  return 1;
}

function checkLine(c: Check): string {
  const mark = c.status === 'ok' ? '✔' : c.status === 'warn' ? '⚠' : '✖';
  return `${mark} ${c.name}: ${c.message}${c.fix && c.status !== 'ok' ? ` — ${c.fix}` : ''}`;
}

const doctor: Runner = async (ctx) => {
  const { values } = parseCommandArgs(ctx.argv, 'doctor', COMMON_FLAGS);
  const checks = await runDoctor({ env: ctx.env, dispatcher: await ctx.dispatcher(), clock: ctx.clock });
  const balena = readBalenaEnv(ctx.env);
  const secrets = [balena.apiKey, balena.supervisorApiKey].filter((s): s is string => s !== undefined);
  const code = doctorExitCode(checks);
  const text = values.json
    ? JSON.stringify({ ok: code === 0, checks: checks.map(({ cause: _cause, ...c }) => c) })
    : checks.map(checkLine).join('\n');
  ctx.out(scrub(text, secrets));
  return code;
};

/** `doctor`. */
export const runners: RunnersOf<'doctor'> = { doctor };
