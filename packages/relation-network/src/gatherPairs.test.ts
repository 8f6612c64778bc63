import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatherJointPairs, gatherPairs } from './gatherPairs';
import { tripletIndices } from './tripletIndices';

describe.each(BACKENDS)('gatherPairs on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('concatenates [anchor, other] along channels, anchor first', () => {
    tf.tidy(() => {
      const f = tf.randomNormal([5, 3, 2, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
      const idx = {
        anchor: tf.tensor1d([0, 1, 2, 3, 4], 'int32'),
        positive: tf.tensor1d([1, 0, 2, 4, 3], 'int32'),
        negative: tf.tensor1d([2, 3, 0, 0, 1], 'int32'),
      };
      const { positive, negative } = gatherPairs(f, idx);
      expect(positive.shape).toEqual([5, 3, 2, 8]);
      expect(negative.shape).toEqual([5, 3, 2, 8]);
      // tf.gather as an independent check (forward only)
      const expectPos = tf.concat([tf.gather(f, idx.anchor), tf.gather(f, idx.positive)], 3);
      const expectNeg = tf.concat([tf.gather(f, idx.anchor), tf.gather(f, idx.negative)], 3);
      expectClose(positive, expectPos, { rtol: 0, atol: 0 });
      expectClose(negative, expectNeg, { rtol: 0, atol: 0 });
    });
  });

  it('accepts JS index arrays and a TripletIndices object', () => {
    tf.tidy(() => {
      const f = tf.randomNormal([4, 2, 2, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
      const t = tripletIndices([0, 1, 1, 0], { seed: 1 });
      const a = gatherPairs(f, t);
      const b = gatherPairs(f, {
        anchor: Array.from(t.anchor.dataSync()),
        positive: Array.from(t.positive.dataSync()),
        negative: Array.from(t.negative.dataSync()),
      });
      expectClose(a.positive, b.positive, { rtol: 0, atol: 0 });
      expectClose(a.negative, b.negative, { rtol: 0, atol: 0 });
    });
  });

  it('differentiates: the feature gradient sums the upstream gradient over every use of a row', () => {
    tf.tidy(() => {
      const f = tf.randomNormal([3, 2, 2, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
      const idx = { anchor: [0, 1, 2], positive: [0, 2, 1], negative: [1, 0, 0] };
      const wPos = tf.randomNormal([3, 2, 2, 4], 0, 1, 'float32', 4);
      const wNeg = tf.randomNormal([3, 2, 2, 4], 0, 1, 'float32', 5);
      const g = tf.grad((x: tf.Tensor) => {
        const { positive, negative } = gatherPairs(x as tf.Tensor4D, idx);
        return tf.add(tf.sum(tf.mul(positive, wPos)), tf.sum(tf.mul(negative, wNeg))) as tf.Scalar;
      })(f);
      // expected: JS scatter-add of the weight halves
      const wp = wPos.arraySync() as number[][][][];
      const wn = wNeg.arraySync() as number[][][][];
      const exp = Array.from({ length: 3 }, () => Array.from({ length: 8 }, () => 0));
      for (let b = 0; b < 3; b++) {
        for (let h = 0; h < 2; h++) {
          for (let w = 0; w < 2; w++) {
            for (let c = 0; c < 2; c++) {
              const flat = (h * 2 + w) * 2 + c;
              exp[idx.anchor[b]!]![flat]! += wp[b]![h]![w]![c]! + wn[b]![h]![w]![c]!;
              exp[idx.positive[b]!]![flat]! += wp[b]![h]![w]![c + 2] ?? Number.NaN;
              exp[idx.negative[b]!]![flat]! += wn[b]![h]![w]![c + 2] ?? Number.NaN;
            }
          }
        }
      }
      expectClose(tf.reshape(g, [3, 8]), exp, { rtol: 1e-5, atol: 1e-6 });
    });
  });

  it('leaks nothing, also when throwing', () => {
    const f = tf.zeros([2, 2, 2, 1]);
    expectNoLeak(() =>
      gatherPairs(f as tf.Tensor4D, { anchor: [0, 1], positive: [0, 1], negative: [1, 0] }),
    );
    expectRelkdError(
      () => gatherPairs(f as tf.Tensor4D, { anchor: [0, 1], positive: [0], negative: [1, 0] }),
      'SHAPE_MISMATCH',
    );
    f.dispose();
  });

  it('rejects bad inputs with RelkdErrors', () => {
    const f4 = tf.zeros([2, 2, 2, 1]);
    const f2 = tf.zeros([2, 3]);
    const fi = tf.zeros([2, 2, 2, 1], 'int32');
    const e = tf.zeros([0, 2, 2, 1]);
    const fIdx = tf.tensor1d([0, 1]);
    const ok = { anchor: [0, 1], positive: [1, 0], negative: [1, 0] };
    expectRelkdError(() => gatherPairs(f2 as never, ok), 'RANK_MISMATCH');
    expectRelkdError(() => gatherPairs(fi as never, ok), 'DTYPE_MISMATCH');
    expectRelkdError(() => gatherPairs(e as never, ok), 'EMPTY_BATCH');
    expectRelkdError(() => gatherPairs(f4 as never, { ...ok, negative: fIdx }), 'DTYPE_MISMATCH');
    expectRelkdError(() => gatherPairs(f4 as never, { ...ok, anchor: [[0, 1]] }), 'RANK_MISMATCH');
    expectRelkdError(() => gatherPairs(f4 as never, { ...ok, positive: [] }), 'EMPTY_BATCH');
    expectRelkdError(() => gatherPairs(f4 as never, null as never), 'INVALID_OPTION');
    tf.dispose([f4, f2, fi, e, fIdx]);
  });

  it('property: matches tf.gather for random shapes and indices', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, h, w, c, b, seed) => {
          tf.tidy(() => {
            const f = tf.randomUniform([n, h, w, c], -1e4, 1e4, 'float32', seed) as tf.Tensor4D;
            const pick = (s: number) => tf.randomUniform([b], 0, n, 'int32', s) as tf.Tensor1D;
            const idx = {
              anchor: pick(seed + 1),
              positive: pick(seed + 2),
              negative: pick(seed + 3),
            };
            const { positive, negative } = gatherPairs(f, idx);
            expectClose(
              positive,
              tf.concat([tf.gather(f, idx.anchor), tf.gather(f, idx.positive)], 3),
              { rtol: 0, atol: 0 },
            );
            expectClose(
              negative,
              tf.concat([tf.gather(f, idx.anchor), tf.gather(f, idx.negative)], 3),
              { rtol: 0, atol: 0 },
            );
          });
        },
      ),
      { numRuns: 25, seed: 3 },
    );
  });

  it('gatherJointPairs: concat([positive, negative]) of gatherPairs, bit for bit, values and gradients', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, h, w, c, b, seed) => {
          tf.tidy(() => {
            const f = tf.randomUniform([n, h, w, c], -1e4, 1e4, 'float32', seed) as tf.Tensor4D;
            const pick = (s: number) => tf.randomUniform([b], 0, n, 'int32', s) as tf.Tensor1D;
            const idx = {
              anchor: pick(seed + 1),
              positive: pick(seed + 2),
              negative: pick(seed + 3),
            };
            const separate = (x: tf.Tensor) => {
              const p = gatherPairs(x as tf.Tensor4D, idx);
              return tf.concat([p.positive, p.negative]);
            };
            const joint = gatherJointPairs(f, idx);
            expect(joint.shape).toEqual([2 * b, h, w, 2 * c]);
            expectClose(joint, separate(f), { rtol: 0, atol: 0 });
            const dy = tf.randomNormal([2 * b, h, w, 2 * c], 0, 1, 'float32', seed + 4);
            const gJoint = tf.grad((x: tf.Tensor) =>
              tf.sum(tf.mul(gatherJointPairs(x as tf.Tensor4D, idx), dy)),
            )(f);
            const gSep = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(separate(x), dy)))(f);
            expectClose(gJoint, gSep, { rtol: 1e-6, atol: 1e-6 });
          });
        },
      ),
      { numRuns: 25, seed: 4 },
    );
    const f = tf.zeros([2, 2, 2, 1]);
    expectNoLeak(() =>
      gatherJointPairs(f as tf.Tensor4D, { anchor: [0, 1], positive: [0, 1], negative: [1, 0] }),
    );
    expectRelkdError(
      () => gatherJointPairs(f as tf.Tensor4D, { anchor: [0, 1], positive: [0], negative: [1, 0] }),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(() => gatherJointPairs(f as tf.Tensor4D, null as never), 'INVALID_OPTION');
    f.dispose();
  });
});
