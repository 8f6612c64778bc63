import { kdLoss } from '@relkd/core';
import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  fdDirectional,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stageResponseLoss } from './index';
import { expectDirectional, T } from './testUtils';

interface SrdFixture {
  student: number[][][];
  teacher: number[][][];
  cases: { temperature: number; weights: number[]; value: number; grads: number[][][] }[];
  mappingCase: {
    teacher: number[][][];
    mapping: [number, number][];
    value: number;
    grads: number[][][];
  };
}

const fx = loadFixture<SrdFixture>(import.meta.url, 'srd');

describe.each(BACKENDS)('stageResponseLoss on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  describe('golden values vs the float64 reference', () => {
    for (const c of fx.cases) {
      it(`T = ${c.temperature}, weights ${c.weights.join('/')}`, () => {
        const s = fx.student.map(T);
        const t = fx.teacher.map(T);
        const opts = { temperature: c.temperature, weights: c.weights };
        expectClose(stageResponseLoss(s, t, opts), c.value);
        const g = tf.grads((...xs: tf.Tensor[]) => stageResponseLoss(xs, t, opts))(s);
        g.forEach((gk, k) => {
          expectClose(gk, c.grads[k]!, { rtol: 1e-3, atol: 1e-6, label: `grad stage ${k}` });
        });
        tf.dispose([s, t, g]);
      });
    }
    it('explicit mapping: 3 student stages, 4 teacher stages', () => {
      const s = fx.student.map(T);
      const t = fx.mappingCase.teacher.map(T);
      const opts = { mapping: fx.mappingCase.mapping };
      expectClose(stageResponseLoss(s, t, opts), fx.mappingCase.value);
      const g = tf.grads((...xs: tf.Tensor[]) => stageResponseLoss(xs, t, opts))(s);
      g.forEach((gk, k) => {
        expectClose(gk, fx.mappingCase.grads[k]!, { rtol: 1e-3, atol: 1e-6 });
      });
      tf.dispose([s, t, g]);
    });
  });

  it('finite-difference gradients', () => {
    const s = [0, 1, 2].map((k) => tf.randomNormal([4, 6], 0, 2, 'float32', k));
    const t = [0, 1, 2].map((k) => tf.randomNormal([4, 6], 0, 2, 'float32', 10 + k));
    for (let k = 0; k < 3; k++) {
      const f = (x: tf.Tensor) =>
        stageResponseLoss(
          s.map((sk, j) => (j === k ? x : sk)),
          t,
          { temperature: 3, weights: [0.5, 1, 2] },
        );
      const v = tf.randomNormal([4, 6], 0, 1, 'float32', 20 + k);
      const g = tf.grad(f)(s[k]!);
      const ad = tf.sum(tf.mul(g, v)).dataSync()[0]!;
      expectDirectional(fdDirectional(f, s[k]!, v, 1e-2), ad);
      tf.dispose([v, g]);
    }
    tf.dispose([s, t]);
  });

  describe('properties', () => {
    let s: tf.Tensor[] = [];
    let t: tf.Tensor[] = [];
    let shift: tf.Tensor;
    beforeAll(() => {
      s = [0, 1, 2].map((k) => tf.randomNormal([5, 4], 0, 3, 'float32', 30 + k));
      t = [0, 1, 2].map((k) => tf.randomNormal([5, 4], 0, 3, 'float32', 40 + k));
      shift = tf.randomNormal([5, 1], 0, 10, 'float32', 50);
    });
    afterAll(() => {
      tf.dispose([s, t, shift]);
    });

    it('is >= 0', () => {
      expect(stageResponseLoss(s, t).dataSync()[0]).toBeGreaterThan(0);
      expect(stageResponseLoss(t, s, { temperature: 1 }).dataSync()[0]).toBeGreaterThan(0);
    });

    it('is zero when the student equals the teacher up to per-row shifts', () => {
      const shifted = t.map((tk) => tf.add(tk, shift));
      expectClose(stageResponseLoss(shifted, t), 0, { atol: 1e-5 });
      // and per-row shifts of either side leave the value unchanged
      const base = stageResponseLoss(s, t).dataSync()[0]!;
      const ss = s.map((sk) => tf.sub(sk, shift));
      expectClose(stageResponseLoss(ss, shifted), base, { rtol: 1e-4 });
      tf.dispose([shifted, ss]);
    });

    it('scales with T² for fixed distributions', () => {
      // logits T·a and T·b give the same tempered distributions for every T
      const ref = stageResponseLoss(s, t, { temperature: 1 }).dataSync()[0]!;
      for (const temp of [2, 4, 8]) {
        const sT = s.map((x) => tf.mul(x, temp));
        const tT = t.map((x) => tf.mul(x, temp));
        expectClose(stageResponseLoss(sT, tT, { temperature: temp }), ref * temp * temp, {
          rtol: 1e-4,
        });
        tf.dispose([sT, tT]);
      }
    });

    it('K = 1 reduces to Hinton KD, and K stages to the weighted sum of KD terms', () => {
      expectClose(stageResponseLoss([s[2]!], [t[2]!]), kdLoss(s[2]!, t[2]!, { temperature: 4 }));
      const terms = s.map((sk, k) => kdLoss(sk, t[k]!, { temperature: 2 }).dataSync()[0]!);
      expectClose(
        stageResponseLoss(s, t, { temperature: 2, weights: [1, 0, 3] }),
        terms[0]! + 3 * terms[2]!,
      );
    });

    it('gives the teacher no gradient', () => {
      const g = tf.grads((...xs: tf.Tensor[]) => stageResponseLoss(s, xs))(t);
      for (const gk of g) expect(Array.from(gk.dataSync()).every((x) => x === 0)).toBe(true);
      tf.dispose(g);
    });

    it('dispatches the same number of kernels for any B or C', async () => {
      const count = async (b: number, c: number) =>
        (
          await tf.profile(() =>
            stageResponseLoss(
              [tf.ones([b, c]), tf.ones([b, c])],
              [tf.zeros([b, c]), tf.zeros([b, c])],
            ),
          )
        ).kernels.length;
      expect(await count(2, 3)).toBe(await count(8, 10));
    });
  });

  it('leaks no tensor', () => {
    const s = [tf.randomNormal([2, 3]), tf.randomNormal([2, 3])];
    expectNoLeak(() => stageResponseLoss(s, s));
    expectNoLeak(() => tf.grads((...xs: tf.Tensor[]) => stageResponseLoss(xs, s))(s));
    expectNoLeak(() => stageResponseLoss([[[1, 2]]], [[[2, 1]]]));
    tf.dispose(s);
  });

  describe('bad inputs', () => {
    const made: tf.Tensor[] = [];
    const z = (b: number, c: number, dtype: 'float32' | 'int32' = 'float32') => {
      const x = tf.zeros([b, c], dtype);
      made.push(x);
      return x;
    };
    afterEach(() => {
      tf.dispose(made.splice(0));
    });
    it('different numbers of stages without a mapping', () => {
      const [a, b, c] = [z(2, 3), z(2, 3), z(2, 3)];
      const e = expectRelkdError(() => stageResponseLoss([a, b], [c]), 'SHAPE_MISMATCH');
      expect(e.message).toContain('options.mapping');
    });
    it('batch and class mismatches', () => {
      const [a, b, c] = [z(2, 3), z(3, 3), z(2, 4)];
      expectRelkdError(() => stageResponseLoss([a], [b]), 'SHAPE_MISMATCH');
      expectRelkdError(() => stageResponseLoss([a, b], [a, a]), 'SHAPE_MISMATCH');
      expectRelkdError(() => stageResponseLoss([a], [c]), 'SHAPE_MISMATCH');
    });
    it('rank, dtype and empty inputs', () => {
      const r3 = tf.zeros([2, 3, 1]);
      const empty = tf.zeros([0, 3]);
      made.push(r3, empty);
      const [a, i] = [z(2, 3), z(2, 3, 'int32')];
      expectRelkdError(() => stageResponseLoss([r3], [a]), 'RANK_MISMATCH');
      expectRelkdError(() => stageResponseLoss([i], [a]), 'DTYPE_MISMATCH');
      expectRelkdError(() => stageResponseLoss([empty], [empty]), 'EMPTY_BATCH');
      expectRelkdError(() => stageResponseLoss([], [a]), 'INVALID_OPTION');
      expectRelkdError(() => stageResponseLoss(null as never, [a]), 'INVALID_OPTION');
    });
    it('bad options', () => {
      const a = [z(2, 3)];
      expectRelkdError(() => stageResponseLoss(a, a, { temperature: 0 }), 'INVALID_OPTION');
      expectRelkdError(
        () => stageResponseLoss(a, a, { temperature: Number.POSITIVE_INFINITY }),
        'INVALID_OPTION',
      );
      expectRelkdError(() => stageResponseLoss(a, a, { weights: [] }), 'INVALID_OPTION');
      expectRelkdError(() => stageResponseLoss(a, a, { mapping: [[1, 0]] }), 'INVALID_OPTION');
    });
  });
});
