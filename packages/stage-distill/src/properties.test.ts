import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ChannelAdapter,
  channelDistillationLoss,
  crossStageReviewLoss,
  mtkdLoss,
  StageHead,
  stageResponseLoss,
} from './index';

const RUNS = 25;
const value = fc.double({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true });
type Mode = 'random' | 'constantRows' | 'duplicateRows' | 'zeros';
const mode = fc.constantFrom<Mode>('random', 'constantRows', 'duplicateRows', 'zeros');

/** A `[rows, cols]` matrix of extreme values in one of the degenerate patterns. */
function matrix(rows: number, cols: number): fc.Arbitrary<number[][]> {
  return fc
    .tuple(
      fc.array(fc.array(value, { minLength: cols, maxLength: cols }), {
        minLength: rows,
        maxLength: rows,
      }),
      mode,
    )
    .map(([m, md]) => {
      if (md === 'constantRows') return m.map((r) => r.map(() => r[0]!));
      if (md === 'duplicateRows') return m.map(() => [...m[0]!]);
      if (md === 'zeros') return m.map((r) => r.map(() => 0));
      return m;
    });
}

/** K stage logits `[B, C]` for a student and a teacher, plus labels. */
const logitStages = fc
  .record({
    k: fc.integer({ min: 1, max: 4 }),
    b: fc.integer({ min: 1, max: 4 }),
    c: fc.integer({ min: 1, max: 6 }),
  })
  .chain(({ k, b, c }) =>
    fc.record({
      student: fc.array(matrix(b, c), { minLength: k, maxLength: k }),
      teacher: fc.array(matrix(b, c), { minLength: k, maxLength: k }),
      labels: fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: b, maxLength: b }),
      temperature: fc.constantFrom(0.5, 1, 4, 20),
    }),
  );

/** K stage feature maps `[B, H, W, C_k]` with student and teacher H×W differing. */
const featureStages = fc
  .record({
    k: fc.integer({ min: 1, max: 3 }),
    b: fc.integer({ min: 1, max: 3 }),
    hs: fc.integer({ min: 1, max: 3 }),
    ht: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 4 }),
  })
  .chain(({ k, b, hs, ht, c }) =>
    fc.record({
      student: fc
        .array(matrix(b * hs * hs, c), { minLength: k, maxLength: k })
        .map((ms) =>
          ms.map((m) => ({ data: m, shape: [b, hs, hs, c] as [number, number, number, number] })),
        ),
      teacher: fc
        .array(matrix(b * ht * ht, c), { minLength: k, maxLength: k })
        .map((ms) =>
          ms.map((m) => ({ data: m, shape: [b, ht, ht, c] as [number, number, number, number] })),
        ),
      normalize: fc.constantFrom('none' as const, 'l2' as const, 'softmax' as const),
    }),
  );

const allFinite = (ts: tf.Tensor | tf.Tensor[]) =>
  (Array.isArray(ts) ? ts : [ts]).every((t) => Array.from(t.dataSync()).every(Number.isFinite));

describe.each(BACKENDS)('property-based checks on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('stageResponseLoss: finite, >= 0, finite gradients', () => {
    fc.assert(
      fc.property(logitStages, ({ student, teacher, temperature }) => {
        const before = tf.memory().numTensors;
        const s = student.map((m) => tf.tensor2d(m));
        const t = teacher.map((m) => tf.tensor2d(m));
        const v = stageResponseLoss(s, t, { temperature });
        const g = tf.grads((...xs: tf.Tensor[]) => stageResponseLoss(xs, t, { temperature }))(s);
        const ok = allFinite(v) && v.dataSync()[0]! >= -1e-3 && allFinite(g);
        tf.dispose([s, t, v, g]);
        expect(ok).toBe(true);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: RUNS, seed: 11 },
    );
  });

  it('crossStageReviewLoss: finite, >= 0, finite gradients, zero gradient for the deepest stage', () => {
    fc.assert(
      fc.property(
        logitStages,
        fc.boolean(),
        fc.boolean(),
        ({ student, temperature }, adjacent, normalize) => {
          const s = student.map((m) => tf.tensor2d(m));
          const opts = {
            temperature,
            pairs: adjacent ? ('adjacent' as const) : ('allPrevious' as const),
            normalize,
          };
          const v = crossStageReviewLoss(s, opts);
          const g = tf.grads((...xs: tf.Tensor[]) => crossStageReviewLoss(xs, opts))(s);
          const ok = allFinite(v) && v.dataSync()[0]! >= -1e-3 && allFinite(g);
          const deepestZero = Array.from(g[g.length - 1]!.dataSync()).every((x) => x === 0);
          tf.dispose([s, v, g]);
          expect(ok).toBe(true);
          expect(deepestZero).toBe(true);
        },
      ),
      { numRuns: RUNS, seed: 12 },
    );
  });

  it('channelDistillationLoss: finite, >= 0, finite gradients, zero teacher gradient', () => {
    fc.assert(
      fc.property(featureStages, ({ student, teacher, normalize }) => {
        const s = student.map((f) => tf.tensor4d(f.data.flat(), f.shape));
        const t = teacher.map((f) => tf.tensor4d(f.data.flat(), f.shape));
        const n = s.length;
        const v = channelDistillationLoss(s, t, { normalize });
        const g = tf.grads((...xs: tf.Tensor[]) =>
          channelDistillationLoss(xs.slice(0, n), xs.slice(n), { normalize }),
        )([...s, ...t]);
        const ok = allFinite(v) && v.dataSync()[0]! >= 0 && allFinite(g);
        const teacherZero = g
          .slice(n)
          .every((gt) => Array.from(gt.dataSync()).every((x) => x === 0));
        tf.dispose([s, t, v, g]);
        expect(ok).toBe(true);
        expect(teacherZero).toBe(true);
      }),
      { numRuns: RUNS, seed: 13 },
    );
  });

  it('mtkdLoss: finite parts and finite gradients', () => {
    fc.assert(
      fc.property(logitStages, ({ student, teacher, labels, temperature }) => {
        const before = tf.memory().numTensors;
        const s = student.map((m) => tf.tensor2d(m));
        const t = teacher.map((m) => tf.tensor2d(m));
        const out = mtkdLoss(
          { studentStageLogits: s, teacherStageLogits: t, labels },
          { temperature },
        );
        const g = tf.grads(
          (...xs: tf.Tensor[]) =>
            mtkdLoss({ studentStageLogits: xs, teacherStageLogits: t, labels }, { temperature })
              .total,
        )(s);
        const ok = Object.values(out).every((p) => allFinite(p)) && allFinite(g);
        tf.dispose([s, t, out, g]);
        expect(ok).toBe(true);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: RUNS, seed: 14 },
    );
  });

  it('ChannelAdapter and StageHead: finite outputs and parameter gradients (B = 1, constant maps)', () => {
    const adapter = new ChannelAdapter(2, 3, { seed: 1 });
    const head = new StageHead({ inChannels: 2, numClasses: 3, downsample: 1, seed: 2 });
    const shapes = fc.record({
      b: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(
        shapes.chain(({ b, h }) =>
          matrix(b * h * h, 2).map((m) => ({
            data: m.flat(),
            shape: [b, h, h, 2] as [number, number, number, number],
          })),
        ),
        ({ data, shape }) => {
          const x = tf.tensor4d(data, shape);
          for (const m of [adapter, head] as const) {
            const { value, grads } = tf.variableGrads(
              () => tf.sum(m.apply(x, { training: true })) as tf.Scalar,
              m.trainableVariables,
            );
            const ok = allFinite(value) && allFinite(Object.values(grads));
            const inf = m.apply(x);
            const okInf = allFinite(inf);
            tf.dispose([value, grads, inf]);
            expect(ok && okInf).toBe(true);
          }
          x.dispose();
        },
      ),
      { numRuns: 15, seed: 15 },
    );
    adapter.dispose();
    head.dispose();
  });
});
