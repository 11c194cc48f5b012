#!/usr/bin/env node
/**
 * The CLI's entry: reads argv and env, handles signals, runs one command. It loads the command
 * table and nothing else up front: a command's module, and the HTTP client, load when it runs.
 */
import type { Dispatcher } from 'undici';
import { runCli } from './cli/index.js';
import { systemClock } from './lib/clock.js';

async function main(): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let dispatcher: Promise<Dispatcher> | undefined;
  const code = await runCli({
    env: process.env,
    argv: process.argv.slice(2),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    dispatcher: () => (dispatcher ??= import('./lib/http.js').then((http) => http.createDispatcher())),
    clock: systemClock,
    input: () => process.stdin,
    signal: controller.signal,
  });
  process.exitCode = code;
  if (dispatcher !== undefined) await (await dispatcher).close().catch(() => undefined);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

await main();
