import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ChannelNormalize, channelDistillationLoss } from './index';
import { dot, expectDirectional, permuteSpatial, T, upsample } from './testUtils';

interface ScdFixture {
  student: number[][];
  teacher: number[][];
  cases: { normalize: ChannelNormalize; weights: number[]; value: number; grads: number[][] }[];
  mappingCase: {
    mapping: [number, number][];
    value: number;
    grads: number[][];
    teacher: number[][];
  };
}

const fx = loadFixture<ScdFixture>(import.meta.url, 'scd');

describe.each(BACKENDS)('channelDistillationLoss on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  describe('golden values vs the float64 reference', () => {
    for (const c of fx.cases) {
      it(`normalize '${c.normalize}': value and gradients`, () => {
        const s = fx.student.map(T);
        const t = fx.teacher.map(T);
        const opts = { normalize: c.normalize, weights: c.weights };
        expectClose(channelDistillationLoss(s, t, opts), c.value);
        const g = tf.grads((...xs: tf.Tensor[]) => channelDistillationLoss(xs, t, opts))(s);
        g.forEach((gk, k) => {
          expectClose(gk, c.grads[k]!, { rtol: 1e-3, atol: 1e-6, label: `grad stage ${k}` });
        });
        tf.dispose([s, t, g]);
      });
    }
    it('explicit mapping: 2 student stages, 3 teacher stages', () => {
      const s = fx.student.map(T);
      const t = fx.mappingCase.teacher.map(T);
      const opts = { mapping: fx.mappingCase.mapping };
      expectClose(channelDistillationLoss(s, t, opts), fx.mappingCase.value);
      const g = tf.grads((...xs: tf.Tensor[]) => channelDistillationLoss(xs, t, opts))(s);
      g.forEach((gk, k) => {
        expectClose(gk, fx.mappingCase.grads[k]!, { rtol: 1e-3, atol: 1e-6 });
      });
      tf.dispose([s, t, g]);
    });
  });

  it('finite-difference gradients (every normalisation)', () => {
    for (const normalize of ['none', 'l2', 'softmax'] as const) {
      const s = [
        tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 1),
        tf.randomNormal([3, 2, 2, 3], 0, 1, 'float32', 2),
      ];
      const t = [
        tf.randomNormal([3, 2, 2, 4], 0, 1, 'float32', 3),
        tf.randomNormal([3, 1, 1, 3], 0, 1, 'float32', 4),
      ];
      const v = s.map((x, k) => tf.randomNormal(x.shape, 0, 1, 'float32', 10 + k));
      const f = (xs: tf.Tensor[]) => channelDistillationLoss(xs, t, { normalize, weights: [1, 2] });
      const g = tf.grads((...xs: tf.Tensor[]) => f(xs))(s);
      const eps = 1e-2;
      const fd = tf.tidy(() => {
        const p = f(s.map((x, k) => tf.add(x, tf.mul(v[k]!, eps)))).dataSync()[0]!;
        const m = f(s.map((x, k) => tf.sub(x, tf.mul(v[k]!, eps)))).dataSync()[0]!;
        return (p - m) / (2 * eps);
      });
      expectDirectional(fd, dot(g, v));
      tf.dispose([s, t, v, g]);
    }
  });

  describe('properties', () => {
    it('is zero when the pooled features match (different H×W)', () => {
      const t = tf.randomNormal([4, 4, 4, 5], 0, 1, 'float32', 7) as tf.Tensor4D;
      const pooled = tf.mean(t, [1, 2], true);
      const s = tf.tile(pooled, [1, 3, 2, 1]); // constant map with the same average, 3×2
      for (const normalize of ['none', 'l2', 'softmax'] as const) {
        expectClose(channelDistillationLoss([s], [t], { normalize }), 0, { atol: 1e-7 });
      }
      expect(channelDistillationLoss([t], [t]).dataSync()[0]).toBe(0);
      tf.dispose([t, pooled, s]);
    });

    it('is invariant to a spatial permutation of either side', () => {
      const s = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 8) as tf.Tensor4D;
      const t = tf.randomNormal([3, 2, 4, 4], 0, 1, 'float32', 9) as tf.Tensor4D;
      const base = channelDistillationLoss([s], [t]).dataSync()[0]!;
      expect(base).toBeGreaterThan(0.01);
      const ps = permuteSpatial(s);
      const pt = permuteSpatial(t);
      expectClose(channelDistillationLoss([ps], [t]), base);
      expectClose(channelDistillationLoss([s], [pt]), base);
      tf.dispose([s, t, ps, pt]);
    });

    it('does not depend on H×W (nearest upsampling leaves it unchanged)', () => {
      const s = tf.randomNormal([2, 2, 3, 4], 0, 1, 'float32', 11) as tf.Tensor4D;
      const t = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 12) as tf.Tensor4D;
      const base = channelDistillationLoss([s], [t]).dataSync()[0]!;
      const us = upsample(s, 3);
      const ut = upsample(t, 2);
      expectClose(channelDistillationLoss([us], [ut]), base);
      tf.dispose([s, t, us, ut]);
    });

    it('gives the teacher no gradient', () => {
      const s = tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 13);
      const t = tf.randomNormal([2, 3, 3, 3], 0, 1, 'float32', 14);
      for (const normalize of ['none', 'l2', 'softmax'] as const) {
        const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          channelDistillationLoss([a], [b], { normalize }),
        )([s, t]);
        expect(tf.sum(tf.abs(gs!)).dataSync()[0]).toBeGreaterThan(0);
        expect(Array.from(gt!.dataSync()).every((x) => x === 0)).toBe(true);
        tf.dispose([gs, gt]);
      }
      tf.dispose([s, t]);
    });

    it('equals the weighted sum of the per-stage terms', () => {
      const s = [
        tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 15),
        tf.randomNormal([2, 1, 1, 2], 0, 1, 'float32', 16),
      ];
      const t = [
        tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 17),
        tf.randomNormal([2, 2, 2, 2], 0, 1, 'float32', 18),
      ];
      const a = channelDistillationLoss([s[0]!], [t[0]!]).dataSync()[0]!;
      const b = channelDistillationLoss([s[1]!], [t[1]!]).dataSync()[0]!;
      expectClose(channelDistillationLoss(s, t, { weights: [0.25, 3] }), 0.25 * a + 3 * b);
      tf.dispose([s, t]);
    });

    it('dispatches the same number of kernels for any batch or width', async () => {
      const count = async (b: number, c: number) =>
        (
          await tf.profile(() =>
            channelDistillationLoss([tf.ones([b, 2, 2, c])], [tf.ones([b, 3, 3, c])]),
          )
        ).kernels.length;
      expect(await count(2, 3)).toBe(await count(8, 10));
    });
  });

  it('leaks no tensor', () => {
    const s = [tf.randomNormal([2, 2, 2, 3])];
    const t = [tf.randomNormal([2, 3, 3, 3])];
    expectNoLeak(() => channelDistillationLoss(s, t, { normalize: 'softmax' }));
    expectNoLeak(() => tf.grads((x: tf.Tensor) => channelDistillationLoss([x], t))([s[0]!]));
    expectNoLeak(() => channelDistillationLoss([[[[[1, 2, 3]]]]], [[[[[1, 2, 3]]]]]));
    tf.dispose([s, t]);
  });

  describe('bad inputs', () => {
    // inputs are created before the failing call so the leak check sees only the loss's tensors
    const made: tf.Tensor[] = [];
    const f = (b: number, h: number, c: number, dtype: 'float32' | 'int32' = 'float32') => {
      const x = tf.zeros([b, h, h, c], dtype);
      made.push(x);
      return x;
    };
    afterEach(() => {
      tf.dispose(made.splice(0));
    });
    it('different numbers of stages without a mapping', () => {
      const s = [f(2, 2, 3)];
      const t = [f(2, 2, 3), f(2, 1, 3)];
      const e = expectRelkdError(() => channelDistillationLoss(s, t), 'SHAPE_MISMATCH');
      expect(e.message).toContain('mapping');
    });
    it('batch mismatch (between student and teacher, and between stages)', () => {
      const [a, b, c, d] = [f(2, 2, 3), f(3, 2, 3), f(2, 2, 3), f(2, 2, 3)];
      expectRelkdError(() => channelDistillationLoss([a], [b]), 'SHAPE_MISMATCH');
      expectRelkdError(() => channelDistillationLoss([a, b], [c, d]), 'SHAPE_MISMATCH');
    });
    it('rank-2 (already pooled) or rank-3 features', () => {
      const pooled = tf.zeros([2, 3]);
      const rank3 = tf.zeros([2, 2, 3]);
      made.push(pooled, rank3);
      const a = f(2, 2, 3);
      const e = expectRelkdError(() => channelDistillationLoss([pooled], [a]), 'RANK_MISMATCH');
      expect(e.message).toContain('studentFeatures[0]');
      expectRelkdError(() => channelDistillationLoss([a], [rank3]), 'RANK_MISMATCH');
    });
    it('channel mismatch names the adapter', () => {
      const [a, b] = [f(2, 2, 3), f(2, 2, 4)];
      const e = expectRelkdError(() => channelDistillationLoss([a], [b]), 'SHAPE_MISMATCH');
      expect(e.message).toContain('ChannelAdapter');
    });
    it('empty, non-array, int32 and empty-batch inputs', () => {
      const a = f(2, 2, 3);
      const i = f(1, 1, 2, 'int32');
      const one = f(1, 1, 2);
      const empty = tf.zeros([0, 1, 1, 2]);
      made.push(empty);
      expectRelkdError(() => channelDistillationLoss([], []), 'INVALID_OPTION');
      expectRelkdError(() => channelDistillationLoss(a as never, [a]), 'INVALID_OPTION');
      expectRelkdError(() => channelDistillationLoss([i], [one]), 'DTYPE_MISMATCH');
      expectRelkdError(() => channelDistillationLoss([empty], [empty]), 'EMPTY_BATCH');
      expectRelkdError(
        () => channelDistillationLoss([[[[1, 2]]]], [[[[[1, 2]]]]]),
        'RANK_MISMATCH',
      );
    });
    it('bad options', () => {
      const s = [f(2, 2, 3)];
      expectRelkdError(
        () => channelDistillationLoss(s, s, { normalize: 'max' as never }),
        'INVALID_OPTION',
      );
      expectRelkdError(() => channelDistillationLoss(s, s, { weights: [1, 1] }), 'INVALID_OPTION');
      expectRelkdError(() => channelDistillationLoss(s, s, { weights: [-1] }), 'INVALID_OPTION');
      expectRelkdError(
        () => channelDistillationLoss(s, s, { weights: [Number.NaN] }),
        'INVALID_OPTION',
      );
      expectRelkdError(() => channelDistillationLoss(s, s, { mapping: [] }), 'INVALID_OPTION');
      expectRelkdError(
        () => channelDistillationLoss(s, s, { mapping: [[0, 1]] }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => channelDistillationLoss(s, s, { mapping: [[0.5, 0]] }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          channelDistillationLoss(s, s, {
            mapping: [
              [0, 0],
              [0, 0],
            ],
          }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => channelDistillationLoss(s, s, { mapping: [[0] as never] }),
        'INVALID_OPTION',
      );
    });
  });
});
