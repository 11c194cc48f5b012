import type { Command } from './types.js';

/** The agent commands. */
export const agentCommands: readonly Command[] = [];
