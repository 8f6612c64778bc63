import { assertNumber } from '../validation/validation';
import { Rng } from './Rng';

/** Options of {@link sampleBeta}: a seed, or a generator to continue a stream. */
export interface SampleBetaOptions {
  /** Seed for a fresh {@link Rng}. Ignored when `rng` is given. Default `0`. */
  seed?: number;
  /** Generator to draw from (advances it). */
  rng?: Rng;
}

/**
 * Draws from Beta(α, β) as `X / (X + Y)` with `X ~ Gamma(α)`, `Y ~ Gamma(β)`.
 * Returns one number, or `count` numbers when given. `α, β > 0`.
 *
 * @throws RelkdError `INVALID_OPTION`
 * @example
 * ```ts
 * const lambda = sampleBeta(1, 1, { seed: 3 });              // one draw
 * const lambdas = sampleBeta(0.4, 0.4, { seed: 3 }, 64);     // 64 draws
 * ```
 */
export function sampleBeta(alpha: number, beta: number, options?: SampleBetaOptions): number;
export function sampleBeta(
  alpha: number,
  beta: number,
  options: SampleBetaOptions,
  count: number,
): number[];
export function sampleBeta(
  alpha: number,
  beta: number,
  options: SampleBetaOptions = {},
  count?: number,
): number | number[] {
  assertNumber(alpha, 'alpha', { min: 0, exclusiveMin: true });
  assertNumber(beta, 'beta', { min: 0, exclusiveMin: true });
  if (count !== undefined) assertNumber(count, 'count', { min: 0, integer: true });
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  const draw = (): number => {
    const x = rng.gamma(alpha);
    const y = rng.gamma(beta);
    const s = x + y;
    // Both gammas can underflow to 0 for tiny shapes; fall back to the Bernoulli limit.
    return s > 0 ? x / s : rng.next() < alpha / (alpha + beta) ? 1 : 0;
  };
  return count === undefined ? draw() : Array.from({ length: count }, draw);
}
