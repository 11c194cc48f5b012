import type { Command } from './types.js';

/** The demo commands. */
export const demoCommands: readonly Command[] = [];
