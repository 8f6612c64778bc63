import { describe, expect, it } from 'vitest';
import { TimeLeft } from './TimeLeft';

describe('TimeLeft', () => {
  it('weighs the finished jobs by their cost and spreads what is left over the workers', () => {
    const left = new TimeLeft([2.7, 2.7, 1, 1], 2);
    expect(Number.isNaN(left.seconds())).toBe(true);
    left.finish(2.7, 54);
    expect(left.seconds()).toBeCloseTo(47, 10);
    left.finish(2.7, 54);
    left.finish(1, 30);
    // (138 s / 6.4 cost units) · 1 unit / 2 workers
    expect(left.seconds()).toBeCloseTo(138 / 6.4 / 2, 10);
    left.finish(1, 20);
    expect(left.seconds()).toBe(0);
  });

  it('treats fewer than one worker as one', () => {
    const left = new TimeLeft([1, 1], 0);
    left.finish(1, 10);
    expect(left.seconds()).toBe(10);
  });
});
