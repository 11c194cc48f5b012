import { spawn, type ChildProcess } from 'node:child_process';
import PQueue from 'p-queue';
import { MAIN, baseChildEnv, nodeCommand, runCli, type CliResult } from './cli.js';

/** A finished CLI run and how long the process lived (spawn to exit, queueing excluded). */
export interface TimedCliResult extends CliResult {
  ms: number;
}

/**
 * Runs CLI children at most `concurrency` at a time, each with a generous deadline: a file that
 * starts dozens of Node processes must not starve them on a loaded two-core machine.
 */
export class CliPool {
  private readonly queue: PQueue;
  private readonly timeoutMs: number;

  constructor(opts: { concurrency: number; timeoutMs: number }) {
    this.queue = new PQueue({ concurrency: opts.concurrency });
    this.timeoutMs = opts.timeoutMs;
  }

  /** Runs the built CLI to its exit once a slot is free. */
  run(args: readonly string[], env: Record<string, string>): Promise<TimedCliResult> {
    return this.slot(async () => {
      const started = performance.now();
      const res = await runCli(args, env, this.timeoutMs);
      return { ...res, ms: performance.now() - started };
    });
  }

  /** Runs `task` once a slot is free (for a long-running child such as `logs --follow`). */
  async slot<T>(task: () => Promise<T>): Promise<T> {
    return this.queue.add(task);
  }
}

/** A CLI child process still running: its output so far and how it ends. */
export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains `text` (rejects after `timeoutMs`). */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
}

/** Starts the built CLI without waiting for it (for --follow, which runs until SIGINT). */
export function spawnCli(args: readonly string[], env: Record<string, string>): RunningCli {
  const node = nodeCommand();
  const child = spawn(node.command, [...node.prefix, MAIN, ...args], { env: { ...baseChildEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const l of listeners) l();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err }));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitForOutput(text, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!out.includes(text)) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`"${text}" not printed within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}
