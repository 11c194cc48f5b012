/**
 * The power state of a board, read from what its firmware and kernel say (pure functions).
 * Raspberry Pi firmware reports a 32-bit "throttled" word (the kernel's firmware driver shows it
 * in sysfs as hex, `vcgencmd get_throttled` as `throttled=0x…`): the low 16 bits are the state
 * now, the high 16 bits the same conditions since boot (sticky).
 */

/** The firmware's bits, decoded. */
export interface ThrottledBits {
  underVoltageNow: boolean;
  frequencyCappedNow: boolean;
  throttledNow: boolean;
  softTempLimitNow: boolean;
  underVoltageSinceBoot: boolean;
  frequencyCappedSinceBoot: boolean;
  throttledSinceBoot: boolean;
  softTempLimitSinceBoot: boolean;
}

const BITS: readonly [keyof ThrottledBits, number][] = [
  ['underVoltageNow', 0], ['frequencyCappedNow', 1], ['throttledNow', 2], ['softTempLimitNow', 3],
  ['underVoltageSinceBoot', 16], ['frequencyCappedSinceBoot', 17], ['throttledSinceBoot', 18], ['softTempLimitSinceBoot', 19],
];

/** Decodes a throttled word (a number). */
export function decodeThrottled(word: number): ThrottledBits {
  const out = {} as Record<keyof ThrottledBits, boolean>;
  for (const [name, bit] of BITS) out[name] = ((word >>> bit) & 1) === 1;
  return out;
}

/**
 * Reads the text of the sysfs file (`50005`, `0x50005`) or of `vcgencmd get_throttled`
 * (`throttled=0x50005`); undefined when it is not a throttled word.
 */
export function parseThrottled(text: string): ThrottledBits | undefined {
  const match = /^(?:throttled=)?(?:0x)?([0-9a-f]{1,8})$/i.exec(text.trim());
  if (!match?.[1]) return undefined;
  return decodeThrottled(Number.parseInt(match[1], 16));
}

/** Whether a kernel log line reports an under-voltage event (`Under-voltage detected! (0x00050005)`). */
export function isUnderVoltageLine(message: string): boolean {
  return /\bunder-?voltage detected\b/i.test(message);
}

/** The power state the agent reports: firmware bits where the board gives them, kernel events on any board. */
export interface PowerState {
  /** Undefined when the board exposes no firmware bits. */
  firmware?: ThrottledBits;
  /** Kernel under-voltage lines since boot; undefined until the journal was read. */
  underVoltageEvents?: number;
}

/** Which condition the power tag names now: under-voltage wins over throttling. */
export type PowerCondition = 'ok' | 'undervoltage' | 'throttled';

/** The condition now, from the firmware's live bits (a frequency cap counts as throttling). */
export function powerCondition(state: PowerState): PowerCondition {
  const f = state.firmware;
  if (!f) return 'ok';
  if (f.underVoltageNow) return 'undervoltage';
  if (f.throttledNow || f.frequencyCappedNow) return 'throttled';
  return 'ok';
}

/** Whether the board says anything about its power at all (else `agent.power` is never written). */
export function powerKnown(state: PowerState): boolean {
  return state.firmware !== undefined || (state.underVoltageEvents ?? 0) > 0;
}
