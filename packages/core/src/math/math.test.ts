import {
  BACKENDS,
  expectClose,
  fdDirectional,
  loadFixture,
  usePlainBackend,
} from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allFinite,
  expectEarlyError,
  expectNoLeakStrict,
  gradDot,
  seededNormal,
} from '../testUtils';
import { classGram } from './classGram';
import { cosineSimilarityMatrix } from './cosineSimilarityMatrix';
import { globalAveragePool } from './globalAveragePool';
import { gram } from './gram';
import { l2Normalize } from './l2Normalize';
import { pairwiseSquaredDistances } from './pairwiseSquaredDistances';
import { safeSqrt } from './safeSqrt';
import { stopGradient } from './stopGradient';
import { zScore } from './zScore';

type Nested = number | Nested[];
interface HelperCase {
  inputs: Nested[];
  r: Nested;
  value: Nested;
  grads: Nested[];
  axis?: number;
}

const HELPERS: Array<[string, (c: HelperCase, ...xs: tf.Tensor[]) => tf.Tensor]> = [
  ['zScore', (c, x) => zScore(x!, { axis: c.axis! })],
  ['l2Normalize', (c, x) => l2Normalize(x!, { axis: c.axis! })],
  ['gram', (_, x) => gram(x!)],
  ['classGram', (_, p) => classGram(p!)],
  ['pairwiseSquaredDistances', (_, a, b) => pairwiseSquaredDistances(a!, b)],
  ['cosineSimilarityMatrix', (_, a, b) => cosineSimilarityMatrix(a!, b)],
  ['globalAveragePool', (_, x) => globalAveragePool(x!)],
];

const GRAD_TOL = { rtol: 1e-3, atol: 1e-6, label: 'gradient' };

describe.each(BACKENDS)('tensor helpers on %s', (backend) => {
  beforeAll(async () => {
    await usePlainBackend(backend);
  });

  describe.each(HELPERS)('%s golden values and gradients', (name, f) => {
    const cases = loadFixture<{ cases: HelperCase[] }>(import.meta.url, name).cases;
    it.each(cases.map((c, i) => [i, c] as const))('case %i', (_, c) => {
      const xs = c.inputs.map((x) => tf.tensor(x as number[]));
      expectClose(
        f(c, ...xs),
        c.value as number[],
        // the diagonal of a self-distance matrix is 0: absolute tolerance there
        { atol: 1e-5 },
      );
      const r = tf.tensor(c.r as number[]);
      const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(c, ...args), r)))(xs);
      grads.forEach((g, i) => {
        expectClose(g, c.grads[i] as number[], GRAD_TOL);
      });
    });
  });

  describe('finite-difference directional derivatives', () => {
    const fns: Array<[string, number[], (x: tf.Tensor) => tf.Scalar]> = [
      ['zScore', [4, 5], (x) => tf.sum(tf.mul(zScore(x), tf.reshape(tf.range(0, 20), [4, 5])))],
      [
        'l2Normalize',
        [4, 5],
        (x) => tf.sum(tf.mul(l2Normalize(x), tf.reshape(tf.range(0, 20), [4, 5]))),
      ],
      [
        'pairwiseSquaredDistances',
        [4, 3],
        (x) => tf.sum(tf.sqrt(tf.add(pairwiseSquaredDistances(x), 1))),
      ],
      ['cosineSimilarityMatrix', [4, 3], (x) => tf.sum(tf.square(cosineSimilarityMatrix(x)))],
      ['gram', [4, 3], (x) => tf.sum(tf.tanh(gram(x)))],
      ['classGram', [4, 3], (x) => tf.sum(tf.tanh(classGram(x)))],
    ];
    it.each(fns)('%s', (_, shape, f) => {
      const x = seededNormal(shape, 31);
      const v = seededNormal(shape, 32);
      const fd = fdDirectional(f, x, v, 1e-2);
      const ad = gradDot(f, x, v);
      expect(Math.abs(fd - ad)).toBeLessThan(5e-3 * Math.abs(ad) + 1e-3);
    });
  });

  describe('properties', () => {
    it('stopGradient: identity forward, zero gradient', () => {
      const x = tf.tensor1d([3, -2]);
      expectClose(stopGradient(x), [3, -2], { atol: 0 });
      expectClose(tf.grad((a: tf.Tensor) => tf.sum(stopGradient(a)))(x), [0, 0], { atol: 0 });
      expectClose(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, stopGradient(a))))(x), [3, -2], {
        atol: 0,
      });
    });

    it('safeSqrt: sqrt(max(x, 0)) with a zero (not infinite) gradient at x <= 0', () => {
      const x = tf.tensor1d([4, 0, -1e-9]);
      expectClose(safeSqrt(x), [2, 0, 0], { atol: 0 });
      expectClose(tf.grad((a: tf.Tensor) => tf.sum(safeSqrt(a)))(x), [0.25, 0, 0], { atol: 0 });
    });

    it('zScore: population std, zero mean and unit variance per row', () => {
      expectClose(zScore([[1, 2, 3]]), [[-Math.sqrt(1.5), 0, Math.sqrt(1.5)]]);
      const z = zScore(seededNormal([3, 8], 33, 5));
      expectClose(tf.mean(z, 1), [0, 0, 0], { atol: 1e-6 });
      expectClose(tf.mean(tf.square(z), 1), [1, 1, 1], { rtol: 1e-5 });
    });

    it('zScore and l2Normalize of constant and zero rows: finite values, finite gradients', () => {
      const x = tf.tensor2d([
        [0, 0, 0, 0],
        [0.1, 0.1, 0.1, 0.1],
        [-7, -7, -7, -7],
        [1e4, 1e4, 1e4, 1e4],
      ]);
      const w = tf.reshape(tf.range(1, 17), [4, 4]);
      for (const f of [
        (a: tf.Tensor) => zScore(a),
        (a: tf.Tensor) => l2Normalize(a),
        (a: tf.Tensor) => zScore(a, { axis: 0 }),
      ]) {
        const y = f(x);
        expect(allFinite(y)).toBe(true);
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), w)))(x);
        expect(allFinite(g)).toBe(true);
      }
      // exact zero rows stay exactly zero
      expectClose(zScore(tf.zeros([2, 3])), tf.zeros([2, 3]), { atol: 0 });
      expectClose(l2Normalize(tf.zeros([2, 3])), tf.zeros([2, 3]), { atol: 0 });
      expectClose(cosineSimilarityMatrix(tf.zeros([2, 3])), tf.zeros([2, 2]), { atol: 0 });
      const gz = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(l2Normalize(a), tf.slice(w, [0, 0], [2, 4]))),
      )(tf.zeros([2, 4]));
      expect(allFinite(gz)).toBe(true);
    });

    it('l2Normalize: unit rows; max(‖x‖, ε) convention', () => {
      expectClose(l2Normalize([[3, 4]]), [[0.6, 0.8]]);
      expectClose(tf.norm(l2Normalize(seededNormal([3, 5], 34, 9)), 2, 1), [1, 1, 1]);
      expectClose(l2Normalize([[3e-13, 4e-13]], { epsilon: 1e-12 }), [[0.3, 0.4]]);
    });

    it('pairwiseSquaredDistances: exact zero diagonal, symmetric, matches the explicit sum', () => {
      const a = tf.add(seededNormal([5, 3], 35), 100); // far from the origin: cancellation-prone
      const d = pairwiseSquaredDistances(a);
      const diag = tf.mul(d, tf.eye(5));
      expectClose(diag, tf.zeros([5, 5]), { atol: 0 });
      // long rows: the expansion alone leaves ~1e-4 on the diagonal, which must be zeroed
      const wide = pairwiseSquaredDistances(seededNormal([8, 100], 37, 3));
      expectClose(tf.mul(wide, tf.eye(8)), tf.zeros([8, 8]), { atol: 0 });
      expectClose(d, tf.transpose(d), { atol: 0 });
      const explicit = tf.sum(tf.square(tf.sub(tf.expandDims(a, 1), tf.expandDims(a, 0))), 2);
      expectClose(d, explicit, { rtol: 1e-5, atol: 1e-6 });
      const g = tf.grad((x: tf.Tensor) => tf.sum(pairwiseSquaredDistances(x)))(a);
      expect(allFinite(g)).toBe(true);
    });

    it('duplicate rows: distances 0, cosine 1, finite gradients', () => {
      const a = tf.tensor2d([
        [1, 2, 3],
        [1, 2, 3],
        [0, 0, 0],
      ]);
      expectClose(tf.slice(pairwiseSquaredDistances(a), [0, 1], [1, 1]), [[0]], { atol: 0 });
      expectClose(tf.slice(cosineSimilarityMatrix(a), [0, 1], [1, 1]), [[1]], { atol: 1e-6 });
      for (const f of [pairwiseSquaredDistances, cosineSimilarityMatrix]) {
        const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(f(x))))(a);
        expect(allFinite(g)).toBe(true);
      }
    });

    it('gram / classGram / globalAveragePool on known inputs', () => {
      expectClose(
        gram([
          [1, 0],
          [1, 1],
        ]),
        [
          [1, 1],
          [1, 2],
        ],
        { atol: 0 },
      );
      expectClose(
        classGram([
          [1, 0],
          [0, 1],
          [1, 0],
        ]),
        [
          [2, 0],
          [0, 1],
        ],
        { atol: 0 },
      );
      const x = tf.reshape(tf.range(0, 2 * 2 * 3 * 2), [2, 2, 3, 2]);
      expect(globalAveragePool(x).shape).toEqual([2, 2]);
      expectClose(globalAveragePool(x), [
        [5, 6],
        [17, 18],
      ]);
    });
  });

  it('the number of kernels does not grow with N or D', async () => {
    const count = async (n: number, d: number): Promise<number[]> => {
      const a = seededNormal([n, d], 81);
      const b = seededNormal([n + 1, d], 82);
      const counts: number[] = [];
      for (const f of [
        () => zScore(a),
        () => l2Normalize(a),
        () => pairwiseSquaredDistances(a),
        () => pairwiseSquaredDistances(a, b),
        () => cosineSimilarityMatrix(a, b),
        () => tf.grad((x: tf.Tensor) => tf.sum(pairwiseSquaredDistances(x)))(a),
      ]) {
        counts.push((await tf.profile(() => f())).kernels.length);
      }
      tf.dispose([a, b]);
      return counts;
    };
    expect(await count(8, 10)).toEqual(await count(2, 3));
  });

  describe('leaks', () => {
    let x: tf.Tensor;
    let x4: tf.Tensor;
    beforeAll(() => {
      x = seededNormal([4, 3], 36);
      x4 = tf.reshape(x, [1, 2, 2, 3]);
    });
    it.each<[string, () => unknown]>([
      ['zScore', () => zScore(x)],
      ['l2Normalize', () => l2Normalize(x)],
      ['gram', () => gram(x)],
      ['classGram', () => classGram(x)],
      ['pairwiseSquaredDistances', () => pairwiseSquaredDistances(x, x)],
      ['cosineSimilarityMatrix', () => cosineSimilarityMatrix(x)],
      ['globalAveragePool', () => globalAveragePool(x4)],
      ['zScore gradient', () => tf.grad((a: tf.Tensor) => tf.sum(zScore(a)))(x)],
      [
        'pairwise gradient',
        () => tf.grad((a: tf.Tensor) => tf.sum(pairwiseSquaredDistances(a)))(x),
      ],
    ])('%s leaks no tensor', (_, fn) => {
      expectNoLeakStrict(fn);
    });
  });

  describe('bad inputs', () => {
    const pre: Record<string, tf.Tensor> = {};
    beforeAll(() => {
      Object.assign(pre, {
        x43: tf.zeros([4, 3]),
        x45: tf.zeros([4, 5]),
        x3: tf.zeros([3]),
        x4d: tf.zeros([1, 2, 2, 3]),
        i43: tf.zeros([4, 3], 'int32'),
      });
    });
    const cases: Array<[string, () => unknown, string]> = [
      ['zScore epsilon < 0', () => zScore(pre.x43!, { epsilon: -1 }), 'INVALID_OPTION'],
      ['zScore axis 0.5', () => zScore(pre.x43!, { axis: 0.5 }), 'INVALID_OPTION'],
      ['zScore axis out of range', () => zScore(pre.x43!, { axis: 2 }), 'INVALID_OPTION'],
      ['zScore int32', () => zScore(pre.i43!), 'DTYPE_MISMATCH'],
      [
        'l2Normalize epsilon NaN',
        () => l2Normalize(pre.x43!, { epsilon: Number.NaN }),
        'INVALID_OPTION',
      ],
      [
        'l2Normalize axis out of range',
        () => l2Normalize(pre.x43!, { axis: -3 }),
        'INVALID_OPTION',
      ],
      ['gram rank 1', () => gram(pre.x3!), 'RANK_MISMATCH'],
      ['classGram rank 4', () => classGram(pre.x4d!), 'RANK_MISMATCH'],
      [
        'pairwise width mismatch',
        () => pairwiseSquaredDistances(pre.x43!, pre.x45!),
        'SHAPE_MISMATCH',
      ],
      ['pairwise rank 1', () => pairwiseSquaredDistances(pre.x3!), 'RANK_MISMATCH'],
      ['cosine width mismatch', () => cosineSimilarityMatrix(pre.x43!, pre.x45!), 'SHAPE_MISMATCH'],
      ['cosine b rank 1', () => cosineSimilarityMatrix(pre.x43!, pre.x3!), 'RANK_MISMATCH'],
      ['globalAveragePool rank 2', () => globalAveragePool(pre.x43!), 'RANK_MISMATCH'],
      ['globalAveragePool ragged', () => globalAveragePool([[[[1]], [[1, 2]]]]), 'INVALID_OPTION'],
    ];
    it.each(cases)('%s', async (_, fn, code) => {
      await expectEarlyError(fn, code as never);
    });
  });
});
