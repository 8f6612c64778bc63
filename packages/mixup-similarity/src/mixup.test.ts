import { Rng } from '@relkd/core';
import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mixup, mixupWith } from './index';
import { sampleLambdas } from './mixup';

interface MixupCase {
  name: string;
  numClasses: number;
  x: number[];
  labels: number[];
  lambda: number | number[];
  perSample: boolean;
  permutation: number[];
  w: number[];
  inputs: number[];
  targets: number[][];
  labelsB: number[];
  inputGrad: number[];
}

const fixture = loadFixture<{ cases: MixupCase[] }>(import.meta.url, 'mixup');

describe.each(BACKENDS)('mixupWith on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  describe.each(fixture.cases)('golden: $name', (c) => {
    it('matches the float64 reference (values and the input gradient)', () => {
      const x = tf.tensor(c.x);
      const y = tf.tensor1d(c.labels, 'int32');
      const lambda = c.perSample ? tf.tensor1d(c.lambda as number[]) : (c.lambda as number);
      const before = tf.memory().numTensors;
      const m = mixupWith(x, y, { numClasses: c.numClasses, lambda, permutation: c.permutation });
      expect(m.inputs.shape).toEqual(x.shape);
      expect(m.targets.shape).toEqual([c.labels.length, c.numClasses]);
      expect(m.permutation.dtype).toBe('int32');
      expect(m.labelsA.dtype).toBe('int32');
      expectClose(m.inputs, c.inputs, { label: 'inputs' });
      expectClose(m.targets, c.targets, { label: 'targets' });
      expect(Array.from(m.labelsB.dataSync())).toEqual(c.labelsB);
      expect(Array.from(m.labelsA.dataSync())).toEqual(c.labels);
      expect(Array.from(m.permutation.dataSync())).toEqual(c.permutation);
      if (c.perSample) {
        expect(m.lambda).toBeInstanceOf(tf.Tensor);
        expectClose(m.lambda as tf.Tensor, c.lambda as number[]);
      } else {
        expect(m.lambda).toBe(c.lambda);
      }
      tf.dispose(m);
      expect(tf.memory().numTensors).toBe(before);
      const w = tf.tensor(c.w, x.shape);
      const g = tf.grad((xx: tf.Tensor) => {
        const r = mixupWith(xx, y, {
          numClasses: c.numClasses,
          lambda,
          permutation: c.permutation,
        });
        return tf.sum(tf.mul(r.inputs, w));
      })(x);
      expectClose(g, c.inputGrad, { rtol: 1e-5, label: 'input gradient' });
      tf.dispose([x, y, w, g, lambda as tf.Tensor]);
    });
  });

  it('accepts the permutation as an int32 tensor and gives the same result', () => {
    const c = fixture.cases[1]!;
    const a = mixupWith(tf.tensor(c.x), c.labels, {
      numClasses: c.numClasses,
      lambda: c.lambda,
      permutation: tf.tensor1d(c.permutation, 'int32'),
    });
    expectClose(a.inputs, c.inputs);
    expectClose(a.targets, c.targets);
  });

  it('λ = 1 returns the clean batch and one-hot targets; λ = 0 the partners', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const one = mixupWith(x, [0, 1, 2], { numClasses: 3, lambda: 1, permutation: [2, 0, 1] });
    expectClose(one.inputs, x, { rtol: 0, atol: 0 });
    expectClose(one.targets, tf.oneHot(tf.tensor1d([0, 1, 2], 'int32'), 3), { rtol: 0, atol: 0 });
    const zero = mixupWith(x, [0, 1, 2], { numClasses: 3, lambda: 0, permutation: [2, 0, 1] });
    expectClose(zero.inputs, [5, 6, 1, 2, 3, 4], { rtol: 0, atol: 0 });
    expect(Array.from(tf.argMax(zero.targets, 1).dataSync())).toEqual([2, 0, 1]);
  });

  it('target rows sum to 1 and mixing is convex', () => {
    const m = mixupWith(tf.tensor2d([[0], [10]]), [0, 0], {
      numClasses: 2,
      lambda: [0.25, 0.6],
      permutation: [1, 0],
    });
    expectClose(m.inputs, [7.5, 6]);
    expectClose(m.targets, [1, 0, 1, 0]);
  });

  it('differentiates w.r.t. the inputs with a tensor permutation (gather-free gradient on wasm)', () => {
    const x = tf.tensor3d([[[1, 2]], [[3, 4]], [[5, 6]]]);
    const perm = tf.tensor1d([1, 2, 0], 'int32');
    const lam = tf.tensor1d([0.2, 0.5, 0.9]);
    const g = tf.grad((xx: tf.Tensor) =>
      tf.sum(
        tf.mul(
          mixupWith(xx, [0, 1, 0], { numClasses: 2, lambda: lam, permutation: perm }).inputs,
          tf.tensor3d([[[1, 10]], [[100, 1000]], [[2, 3]]]),
        ),
      ),
    )(x);
    // row j receives λ_j·w_j + (1 − λ_i)·w_i for the i with π_i = j (π⁻¹ = [2, 0, 1])
    expectClose(g, [
      0.2 * 1 + 0.1 * 2,
      0.2 * 10 + 0.1 * 3,
      0.5 * 100 + 0.8 * 1,
      0.5 * 1000 + 0.8 * 10,
      0.9 * 2 + 0.5 * 100,
      0.9 * 3 + 0.5 * 1000,
    ]);
  });

  it('leaks no tensor (success and failure)', () => {
    const x = tf.tensor2d([[1], [2]]);
    expectNoLeak(() => mixupWith(x, [0, 1], { numClasses: 2, lambda: 0.5, permutation: [1, 0] }));
    expectNoLeak(() =>
      mixupWith([[1], [2]], [0, 1], { numClasses: 2, lambda: [0.5, 0.1], permutation: [1, 0] }),
    );
    expectRelkdError(
      () =>
        mixupWith([[1], [2]], [0, 1], { numClasses: 2, lambda: [0.5, 0.1], permutation: [1, 1] }),
      'INVALID_OPTION',
    );
  });

  describe('bad inputs', () => {
    // Tensors are made once, outside the checked calls (expectRelkdError counts live tensors).
    let X: tf.Tensor;
    let T: Record<string, tf.Tensor>;
    beforeAll(() => {
      X = tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      T = {
        floatLabels: tf.tensor1d([0, 1, 2], 'float32'),
        intInputs: tf.tensor2d([[1], [2], [3]], undefined, 'int32'),
        labels051: tf.tensor1d([0, 5, 1], 'int32'),
        labels2d: tf.tensor2d([[0], [1], [2]], undefined, 'int32'),
        lamNeg: tf.tensor1d([0.5, -1, 0]),
        lamShort: tf.tensor1d([0.5]),
        lamInt: tf.tensor1d([0, 1, 1], 'int32'),
        permLong: tf.tensor1d([1, 0, 2, 3], 'int32'),
        permDup: tf.tensor1d([2, 2, 0], 'int32'),
        permFloat: tf.tensor1d([1, 2, 0]),
        empty: tf.zeros([0, 2]),
        emptyLabels: tf.tensor1d([], 'int32'),
      };
    });
    const x = (): tf.Tensor => X;
    const ok = { numClasses: 3, lambda: 0.5, permutation: [1, 2, 0] };
    it('labels not int32 -> DTYPE_MISMATCH', () => {
      expectRelkdError(() => mixupWith(x(), T['floatLabels']!, ok), 'DTYPE_MISMATCH');
    });
    it('inputs not float32 -> DTYPE_MISMATCH', () => {
      expectRelkdError(() => mixupWith(T['intInputs']!, [0, 1, 2], ok), 'DTYPE_MISMATCH');
    });
    it('labels outside numClasses -> LABEL_OUT_OF_RANGE (JS arrays, or tensors with validate full)', () => {
      expectRelkdError(() => mixupWith(x(), [0, 1, 3], ok), 'LABEL_OUT_OF_RANGE');
      expectRelkdError(
        () => mixupWith(x(), T['labels051']!, { ...ok, validate: 'full' }),
        'LABEL_OUT_OF_RANGE',
      );
    });
    it('labels of the wrong length or rank', () => {
      expectRelkdError(() => mixupWith(x(), [0, 1], ok), 'SHAPE_MISMATCH');
      expectRelkdError(() => mixupWith(x(), T['labels2d']!, ok), 'RANK_MISMATCH');
    });
    it('bad numClasses -> INVALID_OPTION', () => {
      expectRelkdError(() => mixupWith(x(), [0, 1, 2], { ...ok, numClasses: 0 }), 'INVALID_OPTION');
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, numClasses: 2.5 }),
        'INVALID_OPTION',
      );
    });
    it('λ outside [0, 1] -> INVALID_OPTION', () => {
      expectRelkdError(() => mixupWith(x(), [0, 1, 2], { ...ok, lambda: 1.5 }), 'INVALID_OPTION');
      expectRelkdError(() => mixupWith(x(), [0, 1, 2], { ...ok, lambda: -0.1 }), 'INVALID_OPTION');
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, lambda: Number.NaN }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, lambda: [0.5, 2, 0] }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          mixupWith(x(), [0, 1, 2], {
            ...ok,
            lambda: T['lamNeg'] as tf.Tensor1D,
            validate: 'full',
          }),
        'INVALID_OPTION',
      );
    });
    it('missing λ or permutation -> INVALID_OPTION', () => {
      const { lambda: _l, ...noLambda } = ok;
      const { permutation: _p, ...noPerm } = ok;
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], noLambda as unknown as typeof ok),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], noPerm as unknown as typeof ok),
        'INVALID_OPTION',
      );
    });
    it('per-sample λ of the wrong length or dtype', () => {
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, lambda: [0.5, 0.5] }),
        'SHAPE_MISMATCH',
      );
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, lambda: T['lamShort'] as tf.Tensor1D }),
        'SHAPE_MISMATCH',
      );
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, lambda: T['lamInt'] as tf.Tensor1D }),
        'DTYPE_MISMATCH',
      );
    });
    it('permutation of the wrong length -> SHAPE_MISMATCH', () => {
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, permutation: [1, 0] }),
        'SHAPE_MISMATCH',
      );
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, permutation: T['permLong'] as tf.Tensor1D }),
        'SHAPE_MISMATCH',
      );
    });
    it('not a permutation -> INVALID_OPTION', () => {
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, permutation: [1, 1, 0] }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, permutation: [0, 1, 3] }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, permutation: [0, 1.5, 2] }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          mixupWith(x(), [0, 1, 2], {
            ...ok,
            permutation: T['permDup'] as tf.Tensor1D,
            validate: 'full',
          }),
        'INVALID_OPTION',
      );
    });
    it('permutation tensor not int32 -> DTYPE_MISMATCH', () => {
      expectRelkdError(
        () => mixupWith(x(), [0, 1, 2], { ...ok, permutation: T['permFloat'] as tf.Tensor1D }),
        'DTYPE_MISMATCH',
      );
    });
    it('empty batch -> EMPTY_BATCH', () => {
      expectRelkdError(
        () => mixupWith(T['empty']!, T['emptyLabels']!, { ...ok, permutation: [] }),
        'EMPTY_BATCH',
      );
    });
  });
});

describe.each(BACKENDS)('mixup on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  let IMAGES: tf.Tensor4D;
  let T: Record<string, tf.Tensor>;
  beforeAll(() => {
    IMAGES = tf.tensor4d(
      Array.from({ length: 6 * 2 * 2 * 3 }, (_, i) => Math.sin(i)),
      [6, 2, 2, 3],
    );
    T = {
      floatLabels: tf.tensor1d([0, 1, 2, 3, 4, 0], 'float32'),
      intLabels: tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32'),
      nan: tf.tensor2d([[1], [Number.NaN]]),
    };
  });
  const images = (): tf.Tensor4D => IMAGES;
  const labels = [0, 1, 2, 3, 4, 0];

  it('is reproducible for a seed and agrees with mixupWith on its own λ and π', () => {
    const a = mixup(images(), labels, { numClasses: 5, seed: 7 });
    const b = mixup(images(), labels, { numClasses: 5, seed: 7 });
    expect(a.lambda).toBe(b.lambda);
    expect(Array.from(a.permutation.dataSync())).toEqual(Array.from(b.permutation.dataSync()));
    expectClose(a.inputs, b.inputs, { rtol: 0, atol: 0 });
    const w = mixupWith(images(), labels, {
      numClasses: 5,
      lambda: a.lambda,
      permutation: a.permutation,
    });
    expectClose(a.inputs, w.inputs, { rtol: 0, atol: 0 });
    expectClose(a.targets, w.targets, { rtol: 0, atol: 0 });
    const c = mixup(images(), labels, { numClasses: 5, seed: 8 });
    expect(c.lambda).not.toBe(a.lambda);
    // π is a permutation, λ in [0, 1]
    expect([...a.permutation.dataSync()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.lambda as number).toBeGreaterThanOrEqual(0);
    expect(a.lambda as number).toBeLessThanOrEqual(1);
    expect(Array.from(a.labelsB.dataSync())).toEqual(
      Array.from(a.permutation.dataSync()).map((p) => labels[p]),
    );
  });

  it('uses core Rng/sampleBeta/seededPermutation: same draws from an Rng, stream advances', () => {
    const rng = new Rng(11);
    const m1 = mixup(images(), labels, { numClasses: 5, seed: rng });
    const m2 = mixup(images(), labels, { numClasses: 5, seed: rng });
    expect(m1.lambda).not.toBe(m2.lambda);
    const ref = new Rng(11);
    const lam = sampleLambdas(1, 1, ref)[0];
    const perm = ref.permutation(6);
    expect(m1.lambda).toBe(lam);
    expect(Array.from(m1.permutation.dataSync())).toEqual(perm);
  });

  it('perSample gives a float32 [B] λ tensor, each row mixed with its own λ_i', () => {
    const x = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
      [2, 2],
    ]);
    const m = mixup(x, [0, 1, 2, 1], { numClasses: 3, seed: 3, perSample: true, alpha: 0.4 });
    expect(m.lambda).toBeInstanceOf(tf.Tensor);
    const lam = m.lambda as tf.Tensor1D;
    expect(lam.shape).toEqual([4]);
    expect(lam.dtype).toBe('float32');
    const w = mixupWith(x, [0, 1, 2, 1], {
      numClasses: 3,
      lambda: lam,
      permutation: m.permutation,
    });
    expectClose(m.inputs, w.inputs, { rtol: 0, atol: 0 });
    expect(new Set(lam.dataSync()).size).toBeGreaterThan(1);
  });

  it('α = 0 means λ = 1 (no mixing)', () => {
    const x = images();
    const m = mixup(x, labels, { numClasses: 5, seed: 1, alpha: 0 });
    expect(m.lambda).toBe(1);
    expectClose(m.inputs, x, { rtol: 0, atol: 0 });
    const p = mixup(x, labels, { numClasses: 5, seed: 1, alpha: 0, perSample: true });
    expectClose(p.lambda as tf.Tensor, [1, 1, 1, 1, 1, 1], { rtol: 0, atol: 0 });
  });

  it('B = 1: π is the identity and the batch is unchanged', () => {
    const x = tf.tensor3d([[[1, 2, 3]]]);
    const m = mixup(x, [1], { numClasses: 2, seed: 5 });
    expect(Array.from(m.permutation.dataSync())).toEqual([0]);
    expectClose(m.inputs, x);
    expectClose(m.targets, [0, 1]);
  });

  it('works for any input rank (vectors, token embeddings, images)', () => {
    for (const shape of [
      [4, 3],
      [4, 2, 3],
      [4, 2, 2, 3],
      [4, 1, 1, 1, 2],
    ]) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
      const m = mixup(x, [0, 1, 0, 1], { numClasses: 2, seed: 2, perSample: true });
      expect(m.inputs.shape).toEqual(shape);
    }
  });

  it('λ ~ Beta(α, α) has the right mean and variance (fixed seed, per-sample draws)', () => {
    const n = 20000;
    const x = tf.zeros([n, 1]);
    const y = tf.zeros([n], 'int32');
    for (const alpha of [1, 0.4, 2]) {
      const m = mixup(x, y, { numClasses: 1, seed: 1234, alpha, perSample: true });
      const v = Array.from((m.lambda as tf.Tensor).dataSync());
      const mean = v.reduce((s, a) => s + a, 0) / n;
      const variance = v.reduce((s, a) => s + (a - mean) ** 2, 0) / (n - 1);
      const trueVar = 1 / (4 * (2 * alpha + 1)); // Var Beta(α, α)
      // standard errors: sd/√n for the mean; the variance of a Beta sample variance is ~ trueVar·√(2/n)·c
      expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(trueVar / n));
      expect(Math.abs(variance - trueVar) / trueVar).toBeLessThan(0.05);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...v)).toBeLessThanOrEqual(1);
      tf.dispose(m);
    }
    // per-batch λ over many seeds: mean ~ 0.5, variance ~ 1/12 for α = 1
    const draws = Array.from({ length: 4000 }, (_, i) => sampleLambdas(1, 1, new Rng(i))[0]!);
    const mean = draws.reduce((s, a) => s + a, 0) / draws.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / draws.length));
  });

  it('leaks no tensor (success and failure)', () => {
    const x = images();
    expectNoLeak(() => mixup(x, labels, { numClasses: 5, seed: 1 }));
    expectNoLeak(() => mixup(x, labels, { numClasses: 5, seed: 1, perSample: true }));
    expectRelkdError(
      () => mixup(x, [0, 1, 2, 3, 4, 9], { numClasses: 5, seed: 1 }),
      'LABEL_OUT_OF_RANGE',
    );
  });

  it('a throwing call does not advance a given Rng', () => {
    const rng = new Rng(4);
    expectRelkdError(() => mixup(images(), [0, 1], { numClasses: 5, seed: rng }), 'SHAPE_MISMATCH');
    const m = mixup(images(), labels, { numClasses: 5, seed: rng });
    expect(m.lambda).toBe(mixup(images(), labels, { numClasses: 5, seed: 4 }).lambda);
  });

  describe('bad inputs', () => {
    it('labels not int32 -> DTYPE_MISMATCH', () => {
      expectRelkdError(
        () => mixup(images(), T['floatLabels']!, { numClasses: 5, seed: 1 }),
        'DTYPE_MISMATCH',
      );
    });
    it('numClasses mismatch -> LABEL_OUT_OF_RANGE / INVALID_OPTION', () => {
      expectRelkdError(
        () => mixup(images(), labels, { numClasses: 4, seed: 1 }),
        'LABEL_OUT_OF_RANGE',
      );
      expectRelkdError(
        () => mixup(images(), T['intLabels']!, { numClasses: 4, seed: 1, validate: 'full' }),
        'LABEL_OUT_OF_RANGE',
      );
      expectRelkdError(
        () => mixup(images(), labels, { numClasses: -1, seed: 1 }),
        'INVALID_OPTION',
      );
    });
    it('α < 0 or not finite -> INVALID_OPTION', () => {
      expectRelkdError(
        () => mixup(images(), labels, { numClasses: 5, seed: 1, alpha: -0.5 }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => mixup(images(), labels, { numClasses: 5, seed: 1, alpha: Number.POSITIVE_INFINITY }),
        'INVALID_OPTION',
      );
    });
    it('missing or bad seed / perSample -> INVALID_OPTION', () => {
      expectRelkdError(
        () =>
          mixup(images(), labels, { numClasses: 5 } as unknown as {
            numClasses: number;
            seed: number;
          }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => mixup(images(), labels, { numClasses: 5, seed: Number.NaN }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          mixup(images(), labels, {
            numClasses: 5,
            seed: 1,
            perSample: 'yes' as unknown as boolean,
          }),
        'INVALID_OPTION',
      );
    });
    it('unknown validate mode -> INVALID_OPTION', () => {
      expectRelkdError(
        () =>
          mixup(images(), labels, { numClasses: 5, seed: 1, validate: 'all' as unknown as 'full' }),
        'INVALID_OPTION',
      );
    });
    it('non-finite inputs with validate full -> NON_FINITE', () => {
      expectRelkdError(
        () => mixup(T['nan']!, [0, 1], { numClasses: 2, seed: 1, validate: 'full' }),
        'NON_FINITE',
      );
    });
  });
});
