/**
 * A small seeded PRNG (mulberry32). Every random choice dslab makes about faults
 * goes through one of these, so a seed replays the same choices.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  shuffle<T>(items: readonly T[]): T[];
}

/** Seeds are unsigned 32-bit integers: the generator's state is one, so larger seeds would repeat smaller ones. */
export const seed_max = 0xffff_ffff;

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error('invariant broken: pick from an empty list');
      return items[int(items.length)]!;
    },
    shuffle: (items) => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
  };
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

/** Uniform integer in [lo, hi] (both ends included). */
export function intBetween(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** True with probability p (never for p <= 0, without drawing). */
export function chance(rng: Rng, p: number): boolean {
  return p > 0 && rng.next() < p;
}

/** The draws a simulation schedule makes, over one PRNG: integers in a closed range, coin flips, picks. */
export interface Draws {
  next(): number;
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function draws(rng: Rng): Draws {
  return { next: rng.next, int: (lo, hi) => intBetween(rng, lo, hi), chance: (p) => chance(rng, p), pick: rng.pick };
}
