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
import { crossStageReviewLoss, type ReviewPairs } from './index';
import { expectDirectional, T } from './testUtils';

interface CrdFixture {
  logits: number[][][];
  cases: {
    temperature: number;
    pairs: ReviewPairs;
    normalize: boolean;
    value: number;
    grads: number[][][];
  }[];
}

const fx = loadFixture<CrdFixture>(import.meta.url, 'crd');

const kd = (s: tf.Tensor, t: tf.Tensor, temperature: number) =>
  kdLoss(s as tf.Tensor2D, t as tf.Tensor2D, { temperature }).dataSync()[0]!;

describe.each(BACKENDS)('crossStageReviewLoss on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  for (const c of fx.cases) {
    it(`golden: ${c.pairs}, normalize ${c.normalize}, T = ${c.temperature}`, () => {
      const z = fx.logits.map(T);
      const opts = { temperature: c.temperature, pairs: c.pairs, normalize: c.normalize };
      expectClose(crossStageReviewLoss(z, opts), c.value);
      const g = tf.grads((...xs: tf.Tensor[]) => crossStageReviewLoss(xs, opts))(z);
      g.forEach((gk, k) => {
        expectClose(gk, c.grads[k]!, { rtol: 1e-3, atol: 1e-6, label: `grad stage ${k}` });
      });
      tf.dispose([z, g]);
    });
  }

  it('finite-difference gradients of the shallow stages', () => {
    const z = [0, 1, 2, 3].map((k) => tf.randomNormal([3, 5], 0, 2, 'float32', 60 + k));
    for (const pairs of ['allPrevious', 'adjacent'] as const) {
      for (let k = 0; k < 3; k++) {
        // only the student side of each term varies: deeper stages are fixed teachers
        const f = (x: tf.Tensor) =>
          crossStageReviewLoss(
            z.map((zk, j) => (j === k ? x : zk)),
            { pairs, normalize: true, temperature: 2 },
          );
        const v = tf.randomNormal([3, 5], 0, 1, 'float32', 70 + k);
        const g = tf.grad(f)(z[k]!);
        const ad = tf.sum(tf.mul(g, v)).dataSync()[0]!;
        // the loss also depends on z_k through the terms it teaches (stop-gradiented), so
        // compare with a finite difference of the student-side terms only
        const fStudent = (x: tf.Tensor) => {
          const deeper = pairs === 'adjacent' ? [k + 1] : [1, 2, 3].filter((j) => j > k);
          const terms = deeper.map((j) => {
            const n = pairs === 'adjacent' ? 1 : j;
            return tf.div(kdLoss(x as tf.Tensor2D, z[j] as tf.Tensor2D, { temperature: 2 }), n);
          });
          return tf.addN(terms) as tf.Scalar;
        };
        expectDirectional(fdDirectional(fStudent, z[k]!, v, 1e-2), ad);
        tf.dispose([v, g]);
      }
    }
    tf.dispose(z);
  });

  describe('properties', () => {
    let z: tf.Tensor[] = [];
    beforeAll(() => {
      z = [0, 1, 2, 3].map((k) => tf.randomNormal([4, 3], 0, 3, 'float32', 80 + k));
    });
    afterAll(() => {
      tf.dispose(z);
    });
    it('is zero when every stage has the same logits up to per-row shifts', () => {
      const base = tf.randomNormal([4, 3], 0, 3, 'float32', 90);
      const shifted = [0, 1, 2, 3].map((k) =>
        tf.add(base, tf.randomNormal([4, 1], 0, 20, 'float32', 91 + k)),
      );
      for (const pairs of ['allPrevious', 'adjacent'] as const) {
        expectClose(crossStageReviewLoss(shifted, { pairs }), 0, { atol: 1e-5 });
      }
      tf.dispose([base, shifted]);
    });

    it('gives the deepest logits a zero gradient (and every stage but the deepest a non-zero one)', () => {
      for (const pairs of ['allPrevious', 'adjacent'] as const) {
        const g = tf.grads((...xs: tf.Tensor[]) => crossStageReviewLoss(xs, { pairs }))(z);
        expect(Array.from(g[3]!.dataSync()).every((x) => x === 0)).toBe(true);
        for (const gk of g.slice(0, 3)) {
          expect(tf.sum(tf.abs(gk)).dataSync()[0]).toBeGreaterThan(0);
        }
        tf.dispose(g);
      }
    });

    it('K = 1 gives 0 with a zero gradient', () => {
      expect(crossStageReviewLoss([z[0]!]).dataSync()[0]).toBe(0);
      const g = tf.grad((x: tf.Tensor) => crossStageReviewLoss([x]))(z[0]!);
      expect(Array.from(g.dataSync()).every((x) => x === 0)).toBe(true);
      g.dispose();
    });

    it("'adjacent' has K − 1 terms, 'allPrevious' K(K − 1)/2", () => {
      const T4 = 4;
      const adj = kd(z[0]!, z[1]!, T4) + kd(z[1]!, z[2]!, T4) + kd(z[2]!, z[3]!, T4);
      expectClose(crossStageReviewLoss(z, { pairs: 'adjacent' }), adj);
      expectClose(crossStageReviewLoss(z, { pairs: 'adjacent', normalize: true }), adj);
      let all = 0;
      let allNorm = 0;
      for (let k = 1; k < 4; k++) {
        let inner = 0;
        for (let j = 0; j < k; j++) inner += kd(z[j]!, z[k]!, T4);
        all += inner;
        allNorm += inner / k;
      }
      expectClose(crossStageReviewLoss(z), all);
      expectClose(crossStageReviewLoss(z, { normalize: true }), allNorm);
      // counting: with identical per-pair divergences every term contributes the same amount
      const a = tf.tensor2d([[2, 0, 0]]);
      const b = tf.tensor2d([[0, 0, 2]]);
      const unit = kd(a, b, T4);
      const same = [a, b, b, b, b];
      // adjacent: one non-zero term (a taught by b) of 4; allPrevious: a is taught by 4 stages
      expectClose(crossStageReviewLoss(same, { pairs: 'adjacent' }), unit);
      expectClose(crossStageReviewLoss(same), 4 * unit, { rtol: 1e-5 });
      tf.dispose([a, b]);
    });

    it('dispatches the same number of kernels for any B or C', async () => {
      const count = async (b: number, c: number) =>
        (
          await tf.profile(() =>
            crossStageReviewLoss([tf.ones([b, c]), tf.zeros([b, c]), tf.ones([b, c])]),
          )
        ).kernels.length;
      expect(await count(2, 3)).toBe(await count(8, 10));
    });
  });

  it('leaks no tensor', () => {
    const z = [tf.randomNormal([2, 3]), tf.randomNormal([2, 3]), tf.randomNormal([2, 3])];
    expectNoLeak(() => crossStageReviewLoss(z, { normalize: true }));
    expectNoLeak(() => tf.grads((...xs: tf.Tensor[]) => crossStageReviewLoss(xs))(z));
    expectNoLeak(() => crossStageReviewLoss([z[0]!]));
    tf.dispose(z);
  });

  describe('bad inputs', () => {
    const made: tf.Tensor[] = [];
    const m = (shape: number[]) => {
      const x = tf.zeros(shape);
      made.push(x);
      return x;
    };
    afterEach(() => {
      tf.dispose(made.splice(0));
    });
    it('shape mismatches between stages', () => {
      const [a, b, c, d] = [m([2, 3]), m([3, 3]), m([2, 4]), m([2, 3, 1])];
      expectRelkdError(() => crossStageReviewLoss([a, b]), 'SHAPE_MISMATCH');
      expectRelkdError(() => crossStageReviewLoss([a, c]), 'SHAPE_MISMATCH');
      expectRelkdError(() => crossStageReviewLoss([d]), 'RANK_MISMATCH');
      expectRelkdError(() => crossStageReviewLoss([]), 'INVALID_OPTION');
    });
    it('bad options', () => {
      const z = [m([2, 3]), m([2, 3])];
      expectRelkdError(() => crossStageReviewLoss(z, { temperature: -1 }), 'INVALID_OPTION');
      expectRelkdError(() => crossStageReviewLoss(z, { pairs: 'all' as never }), 'INVALID_OPTION');
      expectRelkdError(() => crossStageReviewLoss(z, { normalize: 1 as never }), 'INVALID_OPTION');
    });
  });
});
