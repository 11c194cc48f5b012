import type { Command } from './types.js';

/** The supervisor commands. */
export const supervisorCommands: readonly Command[] = [];
