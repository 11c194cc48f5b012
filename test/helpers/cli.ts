import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI entry point (dist/src/main.js). */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/**
 * The command that starts a Node child process: the test's own Node, behind an optional launcher
 * (FLEET_AGENT_TEST_LAUNCHER, e.g. an emulator command when the suite runs for another architecture),
 * with optional Node flags (FLEET_AGENT_TEST_NODE_FLAGS, e.g. the image's CMD flags, so the suite
 * checks the agent as the image runs it).
 */
export function nodeCommand(): { command: string; prefix: string[] } {
  const words = (name: string): string[] => (process.env[name] ?? '').split(' ').filter(Boolean);
  const [command, ...rest] = [...words('FLEET_AGENT_TEST_LAUNCHER'), process.execPath, ...words('FLEET_AGENT_TEST_NODE_FLAGS')];
  return { command: command ?? process.execPath, prefix: rest };
}

/**
 * How much longer a test waits for a child process when children run behind a launcher (an
 * emulator runs every step several times slower): waits for events, never the agent's own bounds.
 */
export const PATIENCE = (process.env.FLEET_AGENT_TEST_LAUNCHER ?? '') === '' ? 1 : 3;

/** The environment every child process gets besides its own: PATH and the launcher's needs. */
export function baseChildEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  if (process.env.QEMU_LD_PREFIX) env.QEMU_LD_PREFIX = process.env.QEMU_LD_PREFIX;
  return env;
}

/** What a CLI run printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a child process with exactly `env` (plus PATH), and waits for it to exit.
 * Rejects if it runs longer than `timeoutMs` (the child is killed).
 */
export function runCli(args: readonly string[], env: Record<string, string>, timeoutMs = 20_000 * PATIENCE): Promise<CliResult> {
  return runScript(MAIN, args, env, timeoutMs);
}

/** The image's HEALTHCHECK probe (dist/src/healthcheck.js). */
export const HEALTHCHECK = fileURLToPath(new URL('../../src/healthcheck.js', import.meta.url));

/** Runs a built script as a child process, as {@link runCli} runs the CLI; `stdin` is piped in (empty when not given). */
export function runScript(script: string, args: readonly string[], env: Record<string, string>, timeoutMs = 20_000 * PATIENCE, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const node = nodeCommand();
    const child = spawn(node.command, [...node.prefix, script, ...args], {
      env: { ...baseChildEnv(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(stdin ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Polls `check` every ~20 ms until it returns a value other than undefined or false, and resolves
 * with that value; rejects naming `what` once `timeoutMs` has passed (for conditions no event announces).
 */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000 * PATIENCE): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
