import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RelkdError, type RelkdErrorCode } from '../errors/RelkdError';
import { Rng } from './Rng';
import { sampleBeta } from './sampleBeta';
import { seededPermutation } from './seededPermutation';

function expectCode(fn: () => unknown, code: RelkdErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(RelkdError);
  expect((caught as RelkdError).code).toBe(code);
}

function meanVar(xs: readonly number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length];
}

// Pure JS: no backend involved, so these run once (they are identical on every backend).
describe('Rng', () => {
  it('is reproducible for a seed and differs between seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.nextUint32())).not.toEqual(sa);
    // fractional and negative seeds are accepted and distinct
    expect(new Rng(0.5).next()).not.toBe(new Rng(0).next());
    expect(new Rng(-1).next()).not.toBe(new Rng(1).next());
  });

  it('pins the stream (a change of algorithm is a breaking change for every seeded test)', () => {
    const rng = new Rng(0);
    const first = Array.from({ length: 3 }, () => rng.nextUint32());
    expect(first).toMatchInlineSnapshot(`
      [
        4205396811,
        3543653536,
        1222415357,
      ]
    `);
  });

  it('next() is uniform in [0, 1): mean 1/2, variance 1/12', () => {
    const rng = new Rng(7);
    const xs = Array.from({ length: 20000 }, () => rng.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const [m, v] = meanVar(xs);
    expect(Math.abs(m - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(v - 1 / 12)).toBeLessThan(0.003);
  });

  it('int(n) covers [0, n) evenly', () => {
    const rng = new Rng(8);
    const counts = new Array(5).fill(0) as number[];
    for (let i = 0; i < 10000; i++) counts[rng.int(5)]!++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(150);
  });

  it('normal() has mean 0 and variance 1', () => {
    const rng = new Rng(9);
    const [m, v] = meanVar(Array.from({ length: 20000 }, () => rng.normal()));
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.04);
  });

  it.each([0.3, 1, 2.5, 9])('gamma(%f) has mean k and variance k', (k) => {
    const rng = new Rng(10);
    const xs = Array.from({ length: 20000 }, () => rng.gamma(k));
    expect(xs.every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
    const [m, v] = meanVar(xs);
    expect(Math.abs(m - k)).toBeLessThan(0.04 * Math.max(1, k));
    expect(Math.abs(v - k)).toBeLessThan(0.1 * Math.max(1, k));
  });

  it('rejects bad arguments with INVALID_OPTION', () => {
    expectCode(() => new Rng(Number.NaN), 'INVALID_OPTION');
    expectCode(() => new Rng('1' as never), 'INVALID_OPTION');
    const rng = new Rng(1);
    expectCode(() => rng.int(0), 'INVALID_OPTION');
    expectCode(() => rng.int(2.5), 'INVALID_OPTION');
    expectCode(() => rng.gamma(0), 'INVALID_OPTION');
    expectCode(() => rng.permutation(-1), 'INVALID_OPTION');
  });
});

describe('seededPermutation', () => {
  it('is a permutation of [0, n) and reproducible', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer(), (n, seed) => {
        const p = seededPermutation(n, seed);
        expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(seededPermutation(n, seed)).toEqual(p);
      }),
      { numRuns: 50 },
    );
  });

  it('differs between seeds, continues a stream from an Rng, and is uniform over positions', () => {
    expect(seededPermutation(20, 1)).not.toEqual(seededPermutation(20, 2));
    const rng = new Rng(3);
    const a = seededPermutation(10, rng);
    const b = seededPermutation(10, rng);
    expect(a).not.toEqual(b);
    expect(a).toEqual(seededPermutation(10, 3));
    // every element lands in position 0 about equally often
    const counts = new Array(4).fill(0) as number[];
    const r = new Rng(4);
    for (let i = 0; i < 8000; i++) counts[r.permutation(4)[0]!]!++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(150);
  });
});

describe('sampleBeta', () => {
  it.each([
    [1, 1],
    [0.4, 0.4],
    [2, 5],
    [0.2, 3],
    [8, 2],
  ])('Beta(%f, %f) with a fixed seed has the right mean and variance', (a, b) => {
    const xs = sampleBeta(a, b, { seed: 11 }, 20000);
    expect(xs.every((x) => x >= 0 && x <= 1)).toBe(true);
    const [m, v] = meanVar(xs);
    const mean = a / (a + b);
    const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    expect(Math.abs(m - mean)).toBeLessThan(0.01);
    expect(Math.abs(v - variance)).toBeLessThan(0.1 * variance + 1e-3);
  });

  it('is reproducible for a seed; a shared Rng advances', () => {
    expect(sampleBeta(0.4, 0.4, { seed: 5 }, 8)).toEqual(sampleBeta(0.4, 0.4, { seed: 5 }, 8));
    expect(sampleBeta(0.4, 0.4, { seed: 5 })).toBe(sampleBeta(0.4, 0.4, { seed: 5 }, 1)[0]);
    expect(sampleBeta(0.4, 0.4, { seed: 5 })).not.toBe(sampleBeta(0.4, 0.4, { seed: 6 }));
    const rng = new Rng(5);
    expect(sampleBeta(1, 1, { rng })).not.toBe(sampleBeta(1, 1, { rng }));
    expect(sampleBeta(1, 1)).toBe(sampleBeta(1, 1, { seed: 0 }));
    expect(sampleBeta(2, 2, { seed: 1 }, 0)).toEqual([]);
  });

  it('tiny shapes stay in [0, 1] (underflow falls back to the Bernoulli limit)', () => {
    const xs = sampleBeta(1e-3, 1e-3, { seed: 2 }, 2000);
    expect(xs.every((x) => x >= 0 && x <= 1 && Number.isFinite(x))).toBe(true);
    const [m] = meanVar(xs);
    expect(Math.abs(m - 0.5)).toBeLessThan(0.05);
  });

  it('rejects α, β <= 0 and bad counts with INVALID_OPTION', () => {
    expectCode(() => sampleBeta(0, 1), 'INVALID_OPTION');
    expectCode(() => sampleBeta(1, -1), 'INVALID_OPTION');
    expectCode(() => sampleBeta(Number.NaN, 1), 'INVALID_OPTION');
    expectCode(() => sampleBeta(1, 1, {}, 1.5), 'INVALID_OPTION');
    expectCode(() => sampleBeta(1, 1, {}, -1), 'INVALID_OPTION');
    expectCode(() => sampleBeta(1, 1, { seed: Number.NaN }), 'INVALID_OPTION');
  });
});
