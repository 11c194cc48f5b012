/**
 * The reboot budget: at most `max` agent-initiated reboots or shutdowns in any 24 h of wall time.
 *
 * The stamps are wall-clock times persisted in the journal, so the window survives the reboots it
 * counts (monotonic time restarts at every boot and cannot). When NTP steps the clock:
 * - backwards: stamps now lie in the future; they count, and the journal re-anchors them to
 *   "now" (`clampFuture`), so each expires at most 24 h after the step instead of never;
 * - forwards: stamps look older and may expire early. That is accepted: a step forward cannot
 *   create reboots by itself, each reboot still needs a new token, and the stamps never go negative.
 */

/** 24 hours in milliseconds. */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** The budget as decide() sees it. */
export interface RebootBudget {
  max: number;
  /** Reboots in the last 24 h (stamps in the future count too). */
  used: number;
  /** When the next reboot becomes allowed, if it is not allowed now. */
  releaseAtWall: number | null;
}

/** Computes the budget from persisted stamps. */
export function rebootBudget(stamps: readonly number[], nowWall: number, max: number): RebootBudget {
  const inWindow = stamps.map((t) => Math.min(t, nowWall)).filter((t) => t > nowWall - DAY_MS).sort((a, b) => a - b);
  const used = inWindow.length;
  if (used < max) return { max, used, releaseAtWall: null };
  // The (used - max + 1)-th oldest stamp must leave the window before one more is allowed.
  const freeing = inWindow[used - max];
  return { max, used, releaseAtWall: freeing === undefined ? null : freeing + DAY_MS };
}

/** Stamps re-anchored after a backwards clock step, and old ones dropped (bounded list). */
export function clampFuture(stamps: readonly number[], nowWall: number, keep = 100): number[] {
  return stamps
    .map((t) => Math.min(t, nowWall))
    .filter((t) => t > nowWall - DAY_MS)
    .sort((a, b) => a - b)
    .slice(-keep);
}
