import { describe, expect, it } from 'vitest';
import { mean, pairedDiff, std, tQuantile975 } from './stats';

describe('benchmark statistics', () => {
  it('mean and sample std', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.13809, 5);
    expect(std([3])).toBe(0);
  });

  it('t quantiles match tables (df 1, 4, 30) and approach 1.96', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.706, 3);
    expect(tQuantile975(4)).toBeCloseTo(2.776, 3);
    expect(tQuantile975(30)).toBeCloseTo(2.042, 3);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 2);
    expect(tQuantile975(1000)).toBeCloseTo(1.962, 3);
    expect(() => tQuantile975(0)).toThrow(/df/);
  });

  it('paired difference: mean, 95% interval (paired t), significance', () => {
    // d = [1, 2, 3, 2, 2]: mean 2, sd 0.7071, half-width 2.776 * 0.7071 / sqrt(5) = 0.8779
    const d = pairedDiff([11, 12, 13, 12, 12], [10, 10, 10, 10, 10]);
    expect(d.mean).toBeCloseTo(2, 10);
    expect(d.low).toBeCloseTo(2 - 0.87788, 4);
    expect(d.high).toBeCloseTo(2 + 0.87788, 4);
    expect(d.significant).toBe(true);
    // Pairing removes the shared seed effect: unpaired these overlap, paired they do not.
    const a = [90, 95, 92, 97, 91];
    const b = a.map((x) => x - 0.3 + (x % 2) * 0.1);
    expect(pairedDiff(a, b).significant).toBe(true);
    expect(pairedDiff([1, 2, 3], [3, 2, 1]).significant).toBe(false);
    const one = pairedDiff([1], [0]);
    expect(one.significant).toBeUndefined();
    expect(Number.isNaN(one.low)).toBe(true);
    expect(() => pairedDiff([1, 2], [1])).toThrow(/2 vs 1/);
  });
});
