/** Seeded randomness for the soak harness: a round is planned from its seed alone. */
import { mulberry32 } from '../helpers/random.js';

/** A 32-bit seed mixed with a round number: round 0 keeps the seed itself (so `--seed` replays it). */
export function roundSeed(seed: number, round: number): number {
  if (round === 0) return seed >>> 0;
  let h = (seed ^ Math.imul(round, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A small deterministic generator (mulberry32) with the helpers a plan needs. */
export class Rng {
  /** A float in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    const item = list[Math.floor(this.next() * list.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}
