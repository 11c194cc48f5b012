/** When the current boot began, from the kernel (`btime` in /proc/stat): where a first start reads the journal from. */
import { readFileSync } from 'node:fs';

/** Epoch ms of the boot, or undefined when /proc/stat cannot tell (not Linux, no access). */
export function kernelBootTimeMs(path = '/proc/stat'): number | undefined {
  try {
    const match = /^btime\s+(\d+)$/m.exec(readFileSync(path, 'utf8'));
    return match ? Number(match[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}
