import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClassCorrelationTracker } from './index';

interface TrackerFixture {
  numClasses: number;
  temperature: number;
  epochs: { logits: number[][]; labels: number[] }[][];
  expected: { matrix: number[][]; counts: number[] }[];
}
const fixture = loadFixture<TrackerFixture>(import.meta.url, 'tracker');

const expectRowsAreDistributions = (m: tf.Tensor2D) => {
  const rows = m.arraySync();
  for (const row of rows) {
    for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
    expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
  }
};

describe.each(BACKENDS)('ClassCorrelationTracker on %s', (backend) => {
  const live: ClassCorrelationTracker[] = [];
  const make = (numClasses: number, temperature?: number) => {
    const t = new ClassCorrelationTracker(
      temperature === undefined ? { numClasses } : { numClasses, temperature },
    );
    live.push(t);
    return t;
  };
  beforeAll(async () => {
    await useTestBackend(backend);
  });
  afterEach(() => {
    for (const t of live.splice(0)) t.dispose();
  });

  it('starts at the identity, has no trainable variables', () => {
    const tr = make(4);
    expectClose(tr.matrix(), tf.eye(4), { atol: 0, rtol: 0 });
    expect(tr.trainableVariables).toHaveLength(0);
    expect(tr.variables).toHaveLength(3);
    expectClose(tr.targets([2, 0]), [
      [0, 0, 1, 0],
      [1, 0, 0, 0],
    ]);
  });

  it('matches the float64 reference over two epochs (τ_A = 2, rows without correct samples keep their value)', () => {
    const tr = make(fixture.numClasses, fixture.temperature);
    fixture.epochs.forEach((batches, e) => {
      for (const { logits, labels } of batches)
        tr.accumulate(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'));
      expectClose(tr.pendingCounts(), fixture.expected[e]!.counts, {
        atol: 0,
        rtol: 0,
        label: `counts ${e}`,
      });
      tr.endEpoch();
      expectClose(tr.matrix(), fixture.expected[e]!.matrix, {
        rtol: 1e-5,
        atol: 1e-7,
        label: `matrix ${e}`,
      });
      expectClose(tr.pendingCounts(), tf.zeros([fixture.numClasses]), { atol: 0, rtol: 0 });
    });
    // class 4 never appeared in epoch 1 and keeps its identity row there
    expectClose(fixture.expected[0]!.matrix[4]!, [0, 0, 0, 0, 1], { atol: 0, rtol: 0 });
    // class 2 had only a misclassified sample in epoch 2 and keeps its epoch-1 row
    expectClose(fixture.expected[1]!.matrix[2]!, fixture.expected[0]!.matrix[2]!, {
      atol: 0,
      rtol: 0,
    });
  });

  it('a row is the mean tempered softmax of the correctly classified samples of its class', () => {
    const tr = make(3, 2);
    const z = tf.tensor2d([
      [4, 1, 0], // class 0, correct
      [2, 0, 1], // class 0, correct
      [0, 3, 0], // class 0, wrong -> ignored
      [0, 0, 5], // class 2, correct
    ]);
    tr.accumulate(z, [0, 0, 0, 2]);
    tr.endEpoch();
    const p = tf.softmax(tf.div(z, 2)).arraySync() as number[][];
    const row0 = [0, 1, 2].map((c) => (p[0]![c]! + p[1]![c]!) / 2);
    expectClose(tr.matrix(), [row0, [0, 1, 0], p[3]!], { rtol: 1e-5, atol: 1e-7 });
    expectClose(tr.targets([2, 1, 0]), [p[3]!, [0, 1, 0], row0], { rtol: 1e-5, atol: 1e-7 });
  });

  it('sums accumulate across batches: two halves equal one batch', () => {
    const z = tf.randomNormal([8, 4], 0, 3, 'float32', 61) as tf.Tensor2D;
    const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    const a = make(4);
    const b = make(4);
    a.accumulate(z, y);
    const [z1, z2] = tf.split(z, 2);
    const [y1, y2] = tf.split(y, 2);
    b.accumulate(z1!, y1!);
    b.accumulate(z2!, y2!);
    a.endEpoch();
    b.endEpoch();
    expectClose(b.matrix(), a.matrix(), { rtol: 1e-5, atol: 1e-7 });
  });

  it('accumulate and endEpoch make no CPU sync and no extra kernels per batch size', () => {
    const tr = make(5);
    const kernels = (b: number) => {
      const z = tf.randomNormal([b, 5]);
      const y = tf.zeros([b], 'int32');
      const before = tf.profile(() => {
        tr.accumulate(z, y);
      });
      tf.dispose([z, y]);
      return before;
    };
    return Promise.all([kernels(2), kernels(64)]).then(([small, big]) => {
      expect(big.kernels.length).toBe(small.kernels.length);
    });
  });

  it('state round trip: getWeights/setWeights and saveWeights/loadWeights (tf.io encoding)', async () => {
    const tr = make(3, 1.5);
    tr.accumulate(
      [
        [3, 0, 0],
        [0, 0, 2],
      ],
      [0, 2],
    );
    tr.endEpoch();
    tr.accumulate([[0, 4, 1]], [1]); // pending sums are part of the state
    const saved = await tr.saveWeights();
    const copy = make(3, 1.5);
    copy.loadWeights(saved);
    expectClose(copy.matrix(), tr.matrix(), { atol: 0, rtol: 0 });
    expectClose(copy.pendingCounts(), [0, 1, 0], { atol: 0, rtol: 0 });
    copy.endEpoch();
    tr.endEpoch();
    expectClose(copy.matrix(), tr.matrix(), { atol: 0, rtol: 0 });

    const other = make(3);
    const w = tr.getWeights();
    other.setWeights(w);
    tf.dispose(w);
    expectClose(other.matrix(), tr.matrix(), { atol: 0, rtol: 0 });

    const wrong = make(4);
    expectRelkdError(() => wrong.loadWeights(saved), 'SHAPE_MISMATCH');
  });

  it('rows stay distributions under random training (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1_000_000 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom(0.5, 1, 3),
        fc.constantFrom(1, 10, 1e4),
        (c, batches, temperature, scale) => {
          const tr = new ClassCorrelationTracker({ numClasses: c, temperature });
          try {
            for (const [b, seed] of batches) {
              tf.tidy(() => {
                const z = tf.randomNormal([b, c], 0, scale, 'float32', seed);
                const y = tf.cast(
                  tf.floor(tf.randomUniform([b], 0, c - 1e-3, 'float32', seed + 1)),
                  'int32',
                );
                tr.accumulate(z, y);
              });
              tr.endEpoch();
            }
            const m = tr.matrix();
            expectRowsAreDistributions(m);
            m.dispose();
          } finally {
            tr.dispose();
          }
        },
      ),
      { numRuns: 25, seed: 3 },
    );
  });

  it('leaks no tensor', () => {
    const tr = make(3);
    const z = tf.randomNormal([4, 3]);
    expectNoLeak(() => tr.accumulate(z, [0, 1, 2, 0]));
    expectNoLeak(() => tr.endEpoch());
    expectNoLeak(() => tr.targets([0, 1]));
    expectNoLeak(() => tr.accumulate(z, [0, 1]));
    expectNoLeak(() => {
      const t = new ClassCorrelationTracker({ numClasses: 3 });
      t.dispose();
    });
    z.dispose();
  });

  it('rejects bad inputs with RelkdError codes', () => {
    expectRelkdError(() => new ClassCorrelationTracker({ numClasses: 0 }), 'INVALID_OPTION');
    expectRelkdError(() => new ClassCorrelationTracker({ numClasses: 2.5 }), 'INVALID_OPTION');
    expectRelkdError(
      () => new ClassCorrelationTracker({ numClasses: 3, temperature: 0 }),
      'INVALID_OPTION',
    );
    expectRelkdError(() => new ClassCorrelationTracker(undefined as never), 'INVALID_OPTION');
    const tr = make(3);
    const z = tf.randomNormal([2, 4]);
    expectRelkdError(() => tr.accumulate(z, [0, 1]), 'SHAPE_MISMATCH');
    expectRelkdError(() => tr.accumulate([[1, 2, 3]], [0, 1]), 'SHAPE_MISMATCH');
    expectRelkdError(() => tr.accumulate([[1, 2, 3]], [3]), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => tr.targets([0, -1]), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => tr.targets([]), 'EMPTY_BATCH');
    expectRelkdError(() => tr.targets([[0]]), 'RANK_MISMATCH');
    z.dispose();
    const gone = new ClassCorrelationTracker({ numClasses: 2 });
    gone.dispose();
    expect(gone.isDisposed).toBe(true);
    expectRelkdError(() => gone.targets([0]), 'INVALID_OPTION');
    expectRelkdError(() => gone.accumulate([[1, 0]], [0]), 'INVALID_OPTION');
    expectRelkdError(() => gone.endEpoch(), 'INVALID_OPTION');
  });
});
