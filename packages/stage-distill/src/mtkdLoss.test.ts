import { crossEntropy, kdLoss } from '@relkd/core';
import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  channelDistillationLoss,
  crossStageReviewLoss,
  type MtkdLossOptions,
  mtkdLoss,
  stageResponseLoss,
} from './index';
import { T } from './testUtils';

interface MtkdFixture {
  studentFeatures: number[][];
  teacherFeatures: number[][];
  studentStageLogits: number[][][];
  teacherStageLogits: number[][][];
  labels: number[];
  options: Required<
    Pick<MtkdLossOptions, 'scdWeight' | 'srdWeight' | 'crdWeight' | 'auxCeWeight' | 'temperature'>
  >;
  parts: Record<'total' | 'ce' | 'auxCe' | 'scd' | 'srd' | 'crd', number>;
  gradFeatures: number[][];
  gradLogits: number[][][];
}

const fx = loadFixture<MtkdFixture>(import.meta.url, 'mtkd');
const PARTS = ['total', 'ce', 'auxCe', 'scd', 'srd', 'crd'] as const;

describe.each(BACKENDS)('mtkdLoss on %s', (backend) => {
  let sf: tf.Tensor[] = [];
  let tfe: tf.Tensor[] = [];
  let sz: tf.Tensor[] = [];
  let tz: tf.Tensor[] = [];
  let y: tf.Tensor1D;
  beforeAll(async () => {
    await useTestBackend(backend);
    sf = fx.studentFeatures.map(T);
    tfe = fx.teacherFeatures.map(T);
    sz = fx.studentStageLogits.map(T);
    tz = fx.teacherStageLogits.map(T);
    y = tf.tensor1d(fx.labels, 'int32');
  });
  afterAll(() => {
    tf.dispose([sf, tfe, sz, tz, y]);
  });

  it('golden parts and gradients vs the float64 reference', () => {
    const out = mtkdLoss(
      {
        studentFeatures: sf,
        teacherFeatures: tfe,
        studentStageLogits: sz,
        teacherStageLogits: tz,
        labels: y,
      },
      fx.options,
    );
    for (const p of PARTS) expectClose(out[p], fx.parts[p], { label: p });
    tf.dispose(out);
    const n = sf.length;
    const g = tf.grads(
      (...xs: tf.Tensor[]) =>
        mtkdLoss(
          {
            studentFeatures: xs.slice(0, n),
            teacherFeatures: tfe,
            studentStageLogits: xs.slice(n),
            teacherStageLogits: tz,
            labels: y,
          },
          fx.options,
        ).total,
    )([...sf, ...sz]);
    g.slice(0, n).forEach((gk, k) => {
      expectClose(gk, fx.gradFeatures[k]!, { rtol: 1e-3, atol: 1e-6, label: `feature grad ${k}` });
    });
    g.slice(n).forEach((gk, k) => {
      expectClose(gk, fx.gradLogits[k]!, { rtol: 1e-3, atol: 1e-6, label: `logit grad ${k}` });
    });
    tf.dispose(g);
  });

  it('total is the weighted sum of the unweighted parts, each equal to its own function', () => {
    const opts = { scdWeight: 2, srdWeight: 0.25, crdWeight: 3, auxCeWeight: 0.5, temperature: 2 };
    const out = mtkdLoss(
      {
        studentFeatures: sf,
        teacherFeatures: tfe,
        studentStageLogits: sz,
        teacherStageLogits: tz,
        labels: y,
      },
      {
        ...opts,
        crdPairs: 'adjacent',
        crdNormalize: true,
        scdNormalize: 'l2',
        srdStageWeights: [1, 2, 3],
      },
    );
    const v = (t: tf.Tensor) => t.dataSync()[0]!;
    expectClose(out.ce, crossEntropy(sz[2]!, y));
    expectClose(out.auxCe, v(crossEntropy(sz[0]!, y)) + v(crossEntropy(sz[1]!, y)));
    expectClose(out.scd, channelDistillationLoss(sf, tfe, { normalize: 'l2' }));
    expectClose(out.srd, stageResponseLoss(sz, tz, { temperature: 2, weights: [1, 2, 3] }));
    expectClose(
      out.crd,
      crossStageReviewLoss(sz, { temperature: 2, pairs: 'adjacent', normalize: true }),
    );
    expectClose(
      out.total,
      v(out.ce) + 0.5 * v(out.auxCe) + 2 * v(out.scd) + 0.25 * v(out.srd) + 3 * v(out.crd),
    );
    tf.dispose(out);
  });

  it('with only the last SRD term it equals CE + KD', () => {
    const out = mtkdLoss(
      {
        studentFeatures: sf,
        teacherFeatures: tfe,
        studentStageLogits: sz,
        teacherStageLogits: tz,
        labels: y,
      },
      { scdWeight: 0, crdWeight: 0, auxCeWeight: 0, srdStageWeights: [0, 0, 1], temperature: 3 },
    );
    const expected = tf.add(crossEntropy(sz[2]!, y), kdLoss(sz[2]!, tz[2]!, { temperature: 3 }));
    expectClose(out.total, expected);
    // and the gradient w.r.t. the final logits matches CE + KD's
    const g1 = tf.grad(
      (x: tf.Tensor) =>
        mtkdLoss(
          { studentStageLogits: [sz[0]!, sz[1]!, x], teacherStageLogits: tz, labels: y },
          { crdWeight: 0, auxCeWeight: 0, srdStageWeights: [0, 0, 1], temperature: 3 },
        ).total,
    )(sz[2]!);
    const g2 = tf.grad((x: tf.Tensor) =>
      tf.add(crossEntropy(x, y), kdLoss(x as tf.Tensor2D, tz[2]!, { temperature: 3 })),
    )(sz[2]!);
    expectClose(g1, g2);
    tf.dispose([out, expected, g1, g2]);
  });

  it('K = 1 without features: auxCe = scd = crd = 0 and total = CE + KD', () => {
    const out = mtkdLoss({
      studentStageLogits: [sz[2]!],
      teacherStageLogits: [tz[2]!],
      labels: fx.labels,
    });
    expect(out.auxCe.dataSync()[0]).toBe(0);
    expect(out.scd.dataSync()[0]).toBe(0);
    expect(out.crd.dataSync()[0]).toBe(0);
    const expected = tf.add(crossEntropy(sz[2]!, y), kdLoss(sz[2]!, tz[2]!));
    expectClose(out.total, expected);
    tf.dispose([out, expected]);
  });

  it('a shared mapping pairs features and logits of a 2-stage student with a 3-stage teacher', () => {
    const mapping: [number, number][] = [
      [0, 1],
      [1, 2],
    ];
    const out = mtkdLoss(
      {
        studentFeatures: [sf[1]!, sf[2]!],
        teacherFeatures: tfe,
        studentStageLogits: [sz[1]!, sz[2]!],
        teacherStageLogits: tz,
        labels: y,
      },
      { mapping },
    );
    expectClose(out.scd, channelDistillationLoss([sf[1]!, sf[2]!], tfe, { mapping }));
    expectClose(out.srd, stageResponseLoss([sz[1]!, sz[2]!], tz, { mapping }));
    tf.dispose(out);
  });

  it('gives the teacher no gradient', () => {
    const g = tf.grads(
      (...xs: tf.Tensor[]) =>
        mtkdLoss({
          studentFeatures: sf,
          teacherFeatures: xs.slice(0, 3),
          studentStageLogits: sz,
          teacherStageLogits: xs.slice(3),
          labels: y,
        }).total,
    )([...tfe, ...tz]);
    for (const gk of g) expect(Array.from(gk.dataSync()).every((x) => x === 0)).toBe(true);
    tf.dispose(g);
  });

  it('leaks no tensor', () => {
    const inputs = {
      studentFeatures: sf,
      teacherFeatures: tfe,
      studentStageLogits: sz,
      teacherStageLogits: tz,
      labels: y,
    };
    expectNoLeak(() => mtkdLoss(inputs));
    expectNoLeak(() =>
      tf.grads((...xs: tf.Tensor[]) => mtkdLoss({ ...inputs, studentStageLogits: xs }).total)(sz),
    );
    expectNoLeak(() => mtkdLoss({ ...inputs, labels: [0, 1, 2, 3] }));
  });

  it('bad inputs give RelkdErrors before any kernel runs', () => {
    const base = {
      studentFeatures: sf,
      teacherFeatures: tfe,
      studentStageLogits: sz,
      teacherStageLogits: tz,
      labels: y,
    };
    const e = expectRelkdError(
      () => mtkdLoss({ ...base, teacherStageLogits: tz.slice(1) }),
      'SHAPE_MISMATCH',
    );
    expect(e.message).toContain('mapping');
    expectRelkdError(() => mtkdLoss({ ...base, teacherFeatures: tfe.slice(1) }), 'SHAPE_MISMATCH');
    expectRelkdError(
      () => mtkdLoss({ ...base, studentFeatures: undefined as never }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => mtkdLoss({ ...base, studentFeatures: [sz[0]!, sz[1]!, sz[2]!] }),
      'RANK_MISMATCH',
    );
    // features from another batch than the logits
    expectRelkdError(
      () =>
        mtkdLoss({
          ...base,
          studentFeatures: [sf[0]!],
          teacherFeatures: [sf[0]!],
          studentStageLogits: [[[0, 0, 0, 0, 0]]],
          teacherStageLogits: [[[0, 0, 0, 0, 0]]],
          labels: [0],
        }),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(() => mtkdLoss({ ...base, labels: [0, 1, 2] }), 'SHAPE_MISMATCH');
    expectRelkdError(() => mtkdLoss({ ...base, labels: [0, 1, 2, 5] }), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => mtkdLoss({ ...base, labels: [0, 1, 2, 3.5] }), 'LABEL_OUT_OF_RANGE');
    expectRelkdError(() => mtkdLoss(base, { scdWeight: -1 }), 'INVALID_OPTION');
    expectRelkdError(() => mtkdLoss(base, { temperature: 0 }), 'INVALID_OPTION');
    expectRelkdError(() => mtkdLoss(base, { crdPairs: 'x' as never }), 'INVALID_OPTION');
    expectRelkdError(() => mtkdLoss(base, { srdStageWeights: [1] }), 'INVALID_OPTION');
    expectRelkdError(() => mtkdLoss(null as never), 'INVALID_OPTION');
  });
});
