// Browser smoke test of @relkd/stage-distill (Vitest browser mode, `npm run test:browser`): mtkdLoss
// (SCD + SRD + CRD + CE) against the golden float64 fixture of the node tests, every part and the
// gradients of the student features and stage logits, on cpu, wasm and webgl.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import * as wasmModule from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROWSER_BACKENDS,
  browserSuite,
  expectNoLeak,
  expectRelkdError,
} from '../../../tools/testing/browser';
import mtkdFixture from '../fixtures/mtkd.json';
import { type MtkdInputs, type MtkdLossOptions, mtkdLoss } from '../src/index';

type Nested = number | Nested[];
const fx = mtkdFixture as unknown as {
  studentFeatures: Nested[][];
  teacherFeatures: Nested[][];
  studentStageLogits: number[][][];
  teacherStageLogits: number[][][];
  labels: number[];
  options: MtkdLossOptions;
  parts: Record<string, number>;
  gradFeatures: Nested[][];
  gradLogits: number[][][];
};
const PARTS = ['total', 'ce', 'auxCe', 'scd', 'srd', 'crd'] as const;
// node test: values rtol 1e-5 / atol 1e-6, gradients rtol 1e-3 / atol 1e-6
const GRAD = { atol: 1e-6 };

describe.each(BROWSER_BACKENDS)('@relkd/stage-distill mtkdLoss in the browser on %s', (backend) => {
  const ledger = browserSuite('stage-distill', backend, wasmModule);
  let sf: tf.Tensor[] = [];
  let tfe: tf.Tensor[] = [];
  let sz: tf.Tensor[] = [];
  let tz: tf.Tensor[] = [];
  let y: tf.Tensor1D;
  const inputs = (studentFeatures = sf, studentStageLogits = sz): MtkdInputs => ({
    studentFeatures,
    teacherFeatures: tfe,
    studentStageLogits,
    teacherStageLogits: tz,
    labels: y,
  });
  beforeAll(() => {
    sf = fx.studentFeatures.map((x) => tf.tensor(x));
    tfe = fx.teacherFeatures.map((x) => tf.tensor(x));
    sz = fx.studentStageLogits.map((x) => tf.tensor(x));
    tz = fx.teacherStageLogits.map((x) => tf.tensor(x));
    y = tf.tensor1d(fx.labels, 'int32');
  });
  afterAll(() => {
    tf.dispose([sf, tfe, sz, tz, y]);
  });

  it('golden parts and gradients vs the float64 reference', () => {
    expect(sf.length).toBe(3);
    tf.tidy(() => {
      const out = mtkdLoss(inputs(), fx.options);
      for (const p of PARTS) ledger.check(out[p], fx.parts[p]!, 'value', p);
      const n = sf.length;
      const g = tf.grads(
        (...xs: tf.Tensor[]) => mtkdLoss(inputs(xs.slice(0, n), xs.slice(n)), fx.options).total,
      )([...sf, ...sz]);
      g.slice(0, n).forEach((gk, k) => {
        ledger.check(gk, fx.gradFeatures[k]!, 'grad', `feature grad ${k}`, GRAD);
      });
      g.slice(n).forEach((gk, k) => {
        ledger.check(gk, fx.gradLogits[k]!, 'grad', `logit grad ${k}`, GRAD);
      });
    });
  });

  it('leaks no tensor (loss, gradient, and a call that throws)', () => {
    expectNoLeak(() => mtkdLoss(inputs(), fx.options));
    expectNoLeak(() =>
      tf.grads((...xs: tf.Tensor[]) => mtkdLoss(inputs(sf, xs), fx.options).total)(sz),
    );
    const bad = tf.zeros([2, 5]);
    expectRelkdError(
      () => mtkdLoss(inputs(sf, [sz[0]!, sz[1]!, bad]), fx.options),
      'SHAPE_MISMATCH',
    );
    bad.dispose();
  });
});
