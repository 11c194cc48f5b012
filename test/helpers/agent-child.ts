/** Runs the built `fleet-agent run` as a child process and follows its log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { baseChildEnv, MAIN, nodeCommand, PATIENCE } from './cli.js';

/** A running agent child process. */
export interface AgentChild {
  child: ChildProcess;
  /** Every stdout line parsed as JSON (non-JSON lines are kept as `{ raw }`). */
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with the first log line (past or future) matching `pred`. */
  waitForLine(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `fleet-agent run` with `env`. */
export function startAgentChild(env: Record<string, string>): AgentChild {
  const node = nodeCommand();
  const child = spawn(node.command, [...node.prefix, MAIN, 'run'], { env: { ...baseChildEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>();
  let buffer = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { raw: text };
      }
      lines.push(line);
      for (const w of waiters) {
        if (w.pred(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    kill: (signal) => void child.kill(signal),
    waitForLine(pred, timeoutMs = 15_000 * PATIENCE) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}\nlines: ${lines.map((l) => JSON.stringify(l)).join('\n')}`));
        }, timeoutMs);
        const waiter = {
          pred,
          resolve: (l: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.add(waiter);
      });
    },
  };
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The shared poll-with-deadline helper, re-exported for the agent tests. */
export { until } from './cli.js';
