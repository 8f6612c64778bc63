import { crossEntropy, softCrossEntropy } from '@relkd/core';
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
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClassCorrelationTracker, type CorrelationNormalize, teacherRegularizer } from './index';

interface TeacherFixture {
  logits: number[][];
  labels: number[];
  matrix: number[][];
  cases: {
    kind: 'ols' | 'gram';
    gramNormalize: CorrelationNormalize;
    weight: number;
    total: number;
    ce: number;
    reg: number;
    grad: number[][];
  }[];
}
const fixture = loadFixture<TeacherFixture>(import.meta.url, 'teacher');

/** A tracker whose matrix is `a` (through the state API). */
function trackerWith(a: number[][]): ClassCorrelationTracker {
  const c = a.length;
  const tr = new ClassCorrelationTracker({ numClasses: c });
  const w = [tf.tensor2d(a), tf.zeros([c, c]), tf.zeros([c])];
  tr.setWeights(w);
  tf.dispose(w);
  return tr;
}

describe.each(BACKENDS)('teacherRegularizer on %s', (backend) => {
  const live: ClassCorrelationTracker[] = [];
  const keep = (t: ClassCorrelationTracker) => {
    live.push(t);
    return t;
  };
  beforeAll(async () => {
    await useTestBackend(backend);
  });
  afterEach(() => {
    for (const t of live.splice(0)) t.dispose();
  });

  it.each(
    fixture.cases,
  )('matches the float64 reference ($kind, $gramNormalize, weight $weight)', (c) => {
    const tracker = keep(trackerWith(fixture.matrix));
    const z = tf.tensor2d(fixture.logits);
    const y = tf.tensor1d(fixture.labels, 'int32');
    const opts = { kind: c.kind, gramNormalize: c.gramNormalize, weight: c.weight };
    const out = teacherRegularizer({ logits: z, labels: y, tracker }, opts);
    expectClose(out.total, c.total, { label: 'total', atol: 1e-8 });
    expectClose(out.ce, c.ce, { label: 'ce' });
    expectClose(out.reg, c.reg, { label: 'reg', atol: 1e-8 });
    const g = tf.grad(
      (x: tf.Tensor) => teacherRegularizer({ logits: x, labels: y, tracker }, opts).total,
    )(z);
    expectClose(g, c.grad, { rtol: 1e-3, atol: 1e-6, label: 'gradient' });
    tf.dispose([z, y, out, g]);
  });

  it("'ols' is (1 − w)·CE + w·softCrossEntropy(Z, A[y]) with the default w = 0.5", () => {
    const tracker = keep(trackerWith(fixture.matrix));
    const z = tf.tensor2d(fixture.logits);
    const y = fixture.labels;
    const out = teacherRegularizer({ logits: z, labels: y, tracker });
    const targets = tracker.targets(y);
    expectClose(out.reg, softCrossEntropy(z, targets));
    expectClose(out.total, tf.add(tf.mul(crossEntropy(z, y), 0.5), tf.mul(out.reg, 0.5)));
    tf.dispose([z, out, targets]);
  });

  it('with A = I (a fresh tracker) the ols regulariser equals CE, and so does the total', () => {
    const tracker = keep(new ClassCorrelationTracker({ numClasses: 5 }));
    const z = tf.randomNormal([6, 5], 0, 3, 'float32', 71);
    const y = [0, 4, 2, 2, 1, 3];
    for (const weight of [0, 0.3, 0.5, 1]) {
      const out = teacherRegularizer({ logits: z, labels: y, tracker }, { weight });
      expectClose(out.reg, out.ce, { rtol: 1e-5 });
      expectClose(out.total, out.ce, { rtol: 1e-5 });
      tf.dispose(out);
    }
    z.dispose();
  });

  it('a training step moves the logits only, never the tracker state', () => {
    const tracker = keep(trackerWith(fixture.matrix));
    const z = tf.variable(tf.tensor2d(fixture.logits));
    const before = z.clone();
    const opt = tf.train.sgd(0.5);
    for (const kind of ['ols', 'gram'] as const) {
      const cost = opt.minimize(
        () => teacherRegularizer({ logits: z, labels: fixture.labels, tracker }, { kind }).total,
        true,
      );
      cost?.dispose();
    }
    expect(tracker.trainableVariables).toHaveLength(0);
    expectClose(tracker.matrix(), fixture.matrix, { atol: 0, rtol: 0 });
    expect(tf.max(tf.abs(tf.sub(z, before))).dataSync()[0]!).toBeGreaterThan(1e-3);
    tf.dispose([z, before]);
    opt.dispose();
  });

  it('finite differences agree with autodiff for both kinds', () => {
    const tracker = keep(trackerWith(fixture.matrix));
    for (const kind of ['ols', 'gram'] as const) {
      const z = tf.randomNormal([5, 4], 0, 2, 'float32', 72);
      const v = tf.randomNormal([5, 4], 0, 1, 'float32', 73);
      const f = (x: tf.Tensor) =>
        teacherRegularizer({ logits: x, labels: [0, 1, 2, 3, 3], tracker }, { kind, weight: 0.9 })
          .total;
      const g = tf.grad(f)(z);
      const analytic = tf.sum(tf.mul(g, v)).dataSync()[0]!;
      const numeric = fdDirectional(f, z, v, 1e-2);
      expect(Math.abs(analytic - numeric), kind).toBeLessThan(1e-2 * Math.abs(numeric) + 5e-4);
      tf.dispose([z, v, g]);
    }
  });

  it('gram: zero regulariser when the logits reproduce the targets exactly', () => {
    // with one-hot logits and A = I: PᵀP/B = diag(counts)/B = A[y]ᵀA[y]/B
    const tracker = keep(new ClassCorrelationTracker({ numClasses: 3 }));
    const y = tf.tensor1d([0, 2, 2, 1], 'int32');
    const z = tf.mul(tf.cast(tf.oneHot(y, 3), 'float32'), 200);
    for (const gramNormalize of ['batch', 'frobenius', 'none'] as const) {
      const out = teacherRegularizer(
        { logits: z, labels: y, tracker },
        { kind: 'gram', gramNormalize },
      );
      expectClose(out.reg, 0, { atol: 1e-7 });
      tf.dispose(out);
    }
    tf.dispose([y, z]);
  });

  it('leaks no tensor (also when throwing)', () => {
    const tracker = keep(trackerWith(fixture.matrix));
    const z = tf.tensor2d(fixture.logits);
    expectNoLeak(() => teacherRegularizer({ logits: z, labels: fixture.labels, tracker }));
    expectNoLeak(() =>
      teacherRegularizer(
        { logits: z, labels: fixture.labels, tracker },
        { kind: 'gram', gramNormalize: 'frobenius' },
      ),
    );
    expectNoLeak(() =>
      tf.grad(
        (x: tf.Tensor) => teacherRegularizer({ logits: x, labels: fixture.labels, tracker }).total,
      )(z),
    );
    expectNoLeak(() => teacherRegularizer({ logits: z, labels: [0, 1], tracker }));
    z.dispose();
  });

  it('rejects bad inputs with RelkdError codes', () => {
    const tracker = keep(new ClassCorrelationTracker({ numClasses: 3 }));
    const z = tf.randomNormal([2, 3]);
    const z4 = tf.randomNormal([2, 4]);
    expectRelkdError(
      () => teacherRegularizer({ logits: z4, labels: [0, 1], tracker }),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(
      () => teacherRegularizer({ logits: z, labels: [0, 1, 2], tracker }),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(
      () => teacherRegularizer({ logits: z, labels: [0, 3], tracker }),
      'LABEL_OUT_OF_RANGE',
    );
    expectRelkdError(
      () => teacherRegularizer({ logits: z, labels: [0, 1], tracker }, { weight: 1.5 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => teacherRegularizer({ logits: z, labels: [0, 1], tracker }, { weight: -0.1 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => teacherRegularizer({ logits: z, labels: [0, 1], tracker }, { kind: 'kl' as never }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () =>
        teacherRegularizer({ logits: z, labels: [0, 1], tracker }, { gramNormalize: 'x' as never }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => teacherRegularizer({ logits: z, labels: [0, 1], tracker: {} as never }),
      'INVALID_OPTION',
    );
    const gone = new ClassCorrelationTracker({ numClasses: 3 });
    gone.dispose();
    expectRelkdError(
      () => teacherRegularizer({ logits: z, labels: [0, 1], tracker: gone }),
      'INVALID_OPTION',
    );
    tf.dispose([z, z4]);
  });

  it('property: finite values and gradients for extreme logits, both kinds, B = 1 included', () => {
    const tracker = keep(trackerWith(fixture.matrix));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('ols', 'gram'),
        fc.constantFrom<CorrelationNormalize>('batch', 'frobenius', 'none'),
        fc.infiniteStream(
          fc.oneof(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.constantFrom(0, 1e4, -1e4)),
        ),
        fc.infiniteStream(fc.nat()),
        (b, kind, gramNormalize, stream, labels) => {
          const it = stream[Symbol.iterator]();
          const li = labels[Symbol.iterator]();
          const rows = Array.from({ length: b }, () =>
            Array.from({ length: 4 }, () => Math.fround(it.next().value as number)),
          );
          const y = Array.from({ length: b }, () => (li.next().value as number) % 4);
          tf.tidy(() => {
            const z = tf.tensor2d(rows);
            const opts = { kind, gramNormalize } as const;
            const v = teacherRegularizer(
              { logits: z, labels: y, tracker },
              opts,
            ).total.dataSync()[0]!;
            const g = tf.grad(
              (x: tf.Tensor) => teacherRegularizer({ logits: x, labels: y, tracker }, opts).total,
            )(z);
            expect(Number.isFinite(v)).toBe(true);
            expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
          });
        },
      ),
      { numRuns: 30, seed: 9 },
    );
  });
});
