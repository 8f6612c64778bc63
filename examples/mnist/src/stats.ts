/** Small statistics for the benchmark report: mean, sample std, paired t intervals. */

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
}

/** Sample standard deviation (n − 1); 0 for fewer than 2 values. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Two-sided 97.5% quantile of Student's t with `df` degrees of freedom (df ≥ 1). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1)
    throw new Error(`tQuantile975: df must be an integer >= 1, got ${df}`);
  const table = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16,
    2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052,
    2.048, 2.045, 2.042,
  ];
  if (df <= table.length) return table[df - 1]!;
  // Cornish-Fisher expansion around the normal quantile (error < 1e-3 for df > 30).
  const z = 1.959964;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  return z + g1 / df + g2 / df ** 2;
}

/** A paired difference `a − b` over the same seeds: mean and 95% t interval. */
export interface PairedDiff {
  mean: number;
  low: number;
  high: number;
  n: number;
  /** The interval excludes 0 (undefined with fewer than 2 pairs). */
  significant: boolean | undefined;
}

/** Paired difference of two equally long, seed-aligned samples, with a 95% interval (paired t). */
export function pairedDiff(a: readonly number[], b: readonly number[]): PairedDiff {
  if (a.length !== b.length) throw new Error(`pairedDiff: ${a.length} vs ${b.length} values`);
  const d = a.map((x, i) => x - b[i]!);
  const m = mean(d);
  if (d.length < 2)
    return { mean: m, low: Number.NaN, high: Number.NaN, n: d.length, significant: undefined };
  const half = (tQuantile975(d.length - 1) * std(d)) / Math.sqrt(d.length);
  return {
    mean: m,
    low: m - half,
    high: m + half,
    n: d.length,
    significant: m - half > 0 || m + half < 0,
  };
}
