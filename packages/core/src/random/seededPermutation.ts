import { Rng } from './Rng';

/**
 * A uniformly random permutation of `[0, n)`, deterministic for a seed (Fisher–Yates on {@link Rng}).
 *
 * @example
 * ```ts
 * seededPermutation(5, 7); // the same 5-permutation on every run and backend
 * ```
 */
export function seededPermutation(n: number, seed: number | Rng): number[] {
  return (seed instanceof Rng ? seed : new Rng(seed)).permutation(n);
}
