import type { Command } from './types.js';

/** The cloud commands. */
export const cloudCommands: readonly Command[] = [];
