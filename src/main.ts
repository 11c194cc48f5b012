#!/usr/bin/env node
/** The one composition root: reads argv and env, builds the objects, runs a command, handles signals. */
import { agentCommands } from './cli/agent.js';
import { cloudCommands } from './cli/cloud.js';
import { demoCommands } from './cli/demo.js';
import { allCommands, runCli } from './cli/index.js';
import { supervisorCommands } from './cli/supervisor.js';
import { systemClock } from './lib/clock.js';
import { createDispatcher } from './lib/http.js';

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

  const dispatcher = createDispatcher();
  const commands = allCommands([supervisorCommands, cloudCommands, agentCommands, demoCommands]);
  const code = await runCli(commands, {
    env: process.env,
    argv: process.argv.slice(2),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    dispatcher,
    clock: systemClock,
    signal: controller.signal,
  });
  process.exitCode = code;
  await dispatcher.close().catch(() => undefined);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

await main();
