import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readBalenaEnv } from '../config/balena-env.js';
import type { Runner, RunnersOf } from './commands.js';
import { EXIT } from './exit.js';

/**
 * The demo and its simulators live in the source checkout only: the device image leaves them out.
 * The path is computed, so the image's build does not follow it into the simulators.
 */
const DEMO_MODULE = new URL('../sim/demo.js', import.meta.url);

const demo: Runner = async (ctx) => {
  if (!existsSync(fileURLToPath(DEMO_MODULE))) {
    ctx.err(
      'fleet-agent: the demo is not part of this installation (the device image leaves the simulators out); ' +
        'run it from a source checkout with `npm install && npm start`',
    );
    return EXIT.failure;
  }
  const { runDemo } = (await import(DEMO_MODULE.href)) as { runDemo: Runner };
  return runDemo(ctx);
};

/** `start`: the agent on a device, the demo anywhere else (what `npm start` runs). */
const start: Runner = async (ctx) => {
  const balena = readBalenaEnv(ctx.env);
  if (balena.supervisorAddress !== undefined && balena.apiUrl !== undefined) {
    const { runners } = await import('./run.js');
    return runners.run(ctx);
  }
  return demo(ctx);
};

/** `demo`, `start`. */
export const runners: RunnersOf<'demo'> = { demo, start };
