import { readFile } from 'node:fs/promises';
import { JournalError } from '../lib/errors.js';

/** Reads the kernel's boot id (or the test's stand-in file); it changes at every boot. */
export async function readBootId(path: string): Promise<string> {
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (id) return id;
  } catch (err) {
    throw new JournalError(`cannot read the boot id from ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  throw new JournalError(`the boot id file ${path} is empty`);
}
