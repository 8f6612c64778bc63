// Browser smoke test of @relkd/class-correlation (Vitest browser mode, `npm run test:browser`):
// iccLoss, iccStudentLoss and classCorrelation against the golden float64 fixtures of the node
// tests, values and gradients, on cpu, wasm and webgl.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import * as wasmModule from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  BROWSER_BACKENDS,
  browserSuite,
  expectNoLeak,
  expectRelkdError,
} from '../../../tools/testing/browser';
import correlationFixture from '../fixtures/correlation.json';
import iccFixture from '../fixtures/icc_loss.json';
import studentFixture from '../fixtures/student.json';
import {
  type CorrelationNormalize,
  classCorrelation,
  type IccStudentLossOptions,
  iccLoss,
  iccStudentLoss,
} from '../src/index';

type Matrix = number[][];
const icc = iccFixture as unknown as {
  student: Matrix;
  teacher: Matrix;
  cases: { temperature: number; normalize: CorrelationNormalize; value: number; grad: Matrix }[];
};
const student = studentFixture as unknown as {
  student: Matrix;
  teacher: Matrix;
  labels: number[];
  cases: {
    options: IccStudentLossOptions;
    total: number;
    ce: number;
    kd: number;
    icc: number;
    grad: Matrix;
  }[];
};
const correlation = correlationFixture as unknown as {
  logits: Matrix;
  weights: Matrix;
  cases: { temperature: number; normalize: CorrelationNormalize; value: Matrix; grad: Matrix }[];
};

describe.each(BROWSER_BACKENDS)('@relkd/class-correlation in the browser on %s', (backend) => {
  const ledger = browserSuite('class-correlation', backend, wasmModule);

  it('iccLoss: golden values and student gradients; no teacher gradient', () => {
    expect(icc.cases.length).toBeGreaterThan(2);
    tf.tidy(() => {
      const s = tf.tensor2d(icc.student);
      const t = tf.tensor2d(icc.teacher);
      for (const c of icc.cases) {
        const label = `iccLoss ${c.normalize} τ=${c.temperature}`;
        const opts = { temperature: c.temperature, normalize: c.normalize };
        // node test: value rtol 1e-5 / atol 1e-9, gradient rtol 1e-3 / atol 1e-7
        ledger.check(iccLoss(s, t, opts), c.value, 'value', label, { atol: 1e-9 });
        const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          iccLoss(a as tf.Tensor2D, b as tf.Tensor2D, opts),
        )([s, t]);
        ledger.check(gs!, c.grad, 'grad', `${label} d/ds`, { atol: 1e-7 });
        expect(tf.all(tf.equal(gt!, 0)).dataSync()[0], 'no teacher gradient').toBe(1);
      }
    });
  });

  it('iccStudentLoss: golden parts and student gradient', () => {
    tf.tidy(() => {
      const s = tf.tensor2d(student.student);
      const t = tf.tensor2d(student.teacher);
      const y = tf.tensor1d(student.labels, 'int32');
      for (const c of student.cases) {
        const label = `iccStudentLoss ${JSON.stringify(c.options)}`;
        const out = iccStudentLoss({ student: s, teacher: t, labels: y }, c.options);
        ledger.check(out.total, c.total, 'value', `${label} total`);
        ledger.check(out.ce, c.ce, 'value', `${label} ce`);
        ledger.check(out.kd, c.kd, 'value', `${label} kd`);
        ledger.check(out.icc, c.icc, 'value', `${label} icc`, { atol: 1e-8 });
        const g = tf.grad(
          (a: tf.Tensor) => iccStudentLoss({ student: a, teacher: t, labels: y }, c.options).total,
        )(s);
        ledger.check(g, c.grad, 'grad', `${label} d/ds`, { atol: 1e-6 });
      }
    });
  });

  it('classCorrelation: golden matrices and gradients', () => {
    tf.tidy(() => {
      const z = tf.tensor2d(correlation.logits);
      const w = tf.tensor2d(correlation.weights);
      for (const c of correlation.cases) {
        const label = `classCorrelation ${c.normalize} τ=${c.temperature}`;
        const opts = { temperature: c.temperature, normalize: c.normalize };
        ledger.check(classCorrelation(z, opts), c.value, 'value', label, { atol: 1e-7 });
        const g = tf.grad((x: tf.Tensor) =>
          tf.sum(tf.mul(classCorrelation(x as tf.Tensor2D, opts), w)),
        )(z);
        ledger.check(g, c.grad, 'grad', `${label} gradient`, { atol: 1e-5 });
      }
    });
  });

  it('leaks no tensor (loss, gradient, and a call that throws)', () => {
    const s = tf.tensor2d(student.student);
    const t = tf.tensor2d(student.teacher);
    const y = tf.tensor1d(student.labels, 'int32');
    expectNoLeak(() => iccStudentLoss({ student: s, teacher: t, labels: y }));
    expectNoLeak(() =>
      tf.grad((a: tf.Tensor) => iccStudentLoss({ student: a, teacher: t, labels: y }).total)(s),
    );
    expectNoLeak(() => iccLoss(s, t));
    const bad = tf.zeros([1, 3]);
    expectRelkdError(() => iccLoss(s, bad as tf.Tensor2D), 'SHAPE_MISMATCH');
    tf.dispose([s, t, y, bad]);
  });
});
