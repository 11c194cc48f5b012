/**
 * The agent child processes of a soak run: started with the clock preload and an IPC channel,
 * every one registered so that none survives the harness (Ctrl-C, an error, a normal end).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { baseChildEnv, MAIN, nodeCommand } from '../helpers/cli.js';

const PRELOAD = new URL('./clock-preload.js', import.meta.url).href;

/** Every child still running, by pid. */
const live = new Map<number, ChildProcess>();

/** One running `fleet-agent run`. */
export interface AgentProcess {
  pid: number;
  /** Resolves once the process has ended. */
  exited: Promise<void>;
  alive(): boolean;
  /** Sends a signal to this process (by its pid). */
  signal(sig: 'SIGKILL' | 'SIGTERM'): void;
  /** Changes the wall-clock offset; resolves when the child has applied it (or has gone). */
  setClockOffset(offsetMs: number): Promise<void>;
}

/** What a child's output tells its device. */
export interface ChildListener {
  /** A `poll complete` line. */
  poll(): void;
  /** A line worth a place in a round's trace (warnings, reconciliations). */
  note(text: string): void;
}

/** Starts `fleet-agent run` with `env`, its wall clock offset by `offsetMs`. */
export function startAgent(env: Record<string, string>, offsetMs: number, listener: ChildListener, everyLine = false): AgentProcess {
  const node = nodeCommand();
  const child = spawn(node.command, [...node.prefix, '--import', PRELOAD, MAIN, 'run'], {
    env: { ...baseChildEnv(), ...env, SOAK_CLOCK_OFFSET_MS: String(offsetMs) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the agent child did not start');
  live.set(pid, child);
  let ended = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      ended = true;
      live.delete(pid);
      resolve();
    }),
  );
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (line.includes('"msg":"poll complete"')) listener.poll();
      else if (everyLine || /"level":(40|50|60)|reconciled a command/.test(line)) listener.note(summarise(line));
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => listener.note(`stderr: ${d.trim().slice(0, 300)}`));
  const waiters = new Set<{ offset: number; resolve: () => void }>();
  child.on('message', (m: unknown) => {
    const applied = (m as { clockOffsetApplied?: unknown } | null)?.clockOffsetApplied;
    for (const w of waiters) {
      if (w.offset !== applied) continue;
      waiters.delete(w);
      w.resolve();
    }
  });
  void exited.then(() => {
    for (const w of waiters) w.resolve();
    waiters.clear();
  });
  return {
    pid,
    exited,
    alive: () => !ended,
    signal: (sig) => {
      if (!ended) process.kill(pid, sig);
    },
    setClockOffset(offset) {
      if (ended || !child.connected) return Promise.resolve();
      return new Promise<void>((resolve) => {
        waiters.add({ offset, resolve });
        child.send({ clockOffsetMs: offset }, (err) => {
          if (err) resolve();
        });
      });
    },
  };
}

/** The part of a JSON log line a trace needs. */
function summarise(line: string): string {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const extra = ['command', 'token', 'from', 'to', 'detail'].filter((k) => o[k] !== undefined).map((k) => `${k}=${String(o[k])}`);
    const err = (o.err as { message?: string } | undefined)?.message;
    return `agent: ${String(o.msg)}${extra.length ? ` (${extra.join(' ')})` : ''}${err ? `: ${err}` : ''}`.slice(0, 300);
  } catch {
    return `agent: ${line.slice(0, 200)}`;
  }
}

/** SIGKILLs every child still running, by pid (synchronous: usable in an exit handler). */
export function killAllChildren(): number {
  let n = 0;
  for (const [pid] of live) {
    try {
      process.kill(pid, 'SIGKILL');
      n += 1;
    } catch {
      // already gone
    }
  }
  return n;
}

/** How many children are running. */
export function liveChildren(): number {
  return live.size;
}
