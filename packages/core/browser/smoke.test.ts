// Browser smoke test of @relkd/core's losses (Vitest browser mode, `npm run test:browser`): the
// golden float64 fixtures of the node tests, value and gradient, on cpu, wasm and webgl.
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
import crossEntropyFixture from '../fixtures/crossEntropy.json';
import kdFixture from '../fixtures/kdLoss.json';
import kdTorchFixture from '../fixtures/kdLoss_torch.json';
import klFixture from '../fixtures/klDivergence.json';
import softFixture from '../fixtures/softCrossEntropy.json';
import { crossEntropy, kdLoss, klDivergence, softCrossEntropy } from '../src/index';

type Matrix = number[][];
interface KlCase {
  student: Matrix;
  teacher: Matrix;
  temperature: number;
  scaleByTSquared?: boolean;
  value: number;
  grad: Matrix;
}
const kd = [...(kdFixture.cases as KlCase[]), ...(kdTorchFixture.cases as KlCase[])];
const kl = klFixture.cases as KlCase[];
const ce = crossEntropyFixture.cases as {
  logits: Matrix;
  labels: number[];
  value: number;
  grad: Matrix;
}[];
const soft = softFixture.cases as {
  logits: Matrix;
  targets: Matrix;
  temperature: number;
  value: number;
  grad: Matrix;
}[];

// node tests: values rtol 1e-5 / atol 1e-6, gradients rtol 1e-3 / atol 1e-7
const GRAD = { atol: 1e-7 };

describe.each(BROWSER_BACKENDS)('@relkd/core losses in the browser on %s', (backend) => {
  const ledger = browserSuite('core', backend, wasmModule);

  it('kdLoss: golden values and gradients (numpy float64 and PyTorch fixtures)', () => {
    expect(kd.length).toBeGreaterThan(2);
    tf.tidy(() => {
      for (const [i, c] of kd.entries()) {
        const s = tf.tensor2d(c.student);
        const t = tf.tensor2d(c.teacher);
        const opts = { temperature: c.temperature };
        ledger.check(kdLoss(s, t, opts), c.value, 'value', `kdLoss ${i}`);
        const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => kdLoss(a, b, opts))([s, t]);
        ledger.check(gs!, c.grad, 'grad', `kdLoss ${i} d/ds`, GRAD);
        expect(tf.all(tf.equal(gt!, 0)).dataSync()[0], 'no teacher gradient').toBe(1);
      }
    });
  });

  it('klDivergence, softCrossEntropy, crossEntropy: golden values and gradients', () => {
    tf.tidy(() => {
      for (const [i, c] of kl.entries()) {
        const t = tf.tensor2d(c.teacher);
        const opts = { temperature: c.temperature, scaleByTSquared: c.scaleByTSquared ?? false };
        ledger.check(klDivergence(c.student, t, opts), c.value, 'value', `klDivergence ${i}`);
        const g = tf.grad((x: tf.Tensor) => klDivergence(x, t, opts))(tf.tensor2d(c.student));
        ledger.check(g, c.grad, 'grad', `klDivergence ${i}`, GRAD);
      }
      for (const [i, c] of soft.entries()) {
        const q = tf.tensor2d(c.targets);
        const opts = { temperature: c.temperature };
        ledger.check(softCrossEntropy(c.logits, q, opts), c.value, 'value', `softCE ${i}`);
        const g = tf.grad((x: tf.Tensor) => softCrossEntropy(x, q, opts))(tf.tensor2d(c.logits));
        ledger.check(g, c.grad, 'grad', `softCE ${i}`, GRAD);
      }
      for (const [i, c] of ce.entries()) {
        const y = tf.tensor1d(c.labels, 'int32');
        ledger.check(crossEntropy(c.logits, y), c.value, 'value', `crossEntropy ${i}`);
        const g = tf.grad((x: tf.Tensor) => crossEntropy(x, y))(tf.tensor2d(c.logits));
        ledger.check(g, c.grad, 'grad', `crossEntropy ${i}`, GRAD);
      }
    });
  });

  it('leaks no tensor (loss, gradient, and a call that throws)', () => {
    const c = kd[0]!;
    const s = tf.tensor2d(c.student);
    const t = tf.tensor2d(c.teacher);
    expectNoLeak(() => kdLoss(s, t));
    expectNoLeak(() => tf.grad((x: tf.Tensor) => kdLoss(x, t))(s));
    expectNoLeak(() =>
      crossEntropy(
        s,
        c.student.map(() => 0),
      ),
    );
    // invalid inputs throw before any kernel runs and release what they converted
    expectRelkdError(() => kdLoss(s, [[1, 2]]), 'SHAPE_MISMATCH');
    expectRelkdError(() => crossEntropy(s, [0]), 'SHAPE_MISMATCH');
    tf.dispose([s, t]);
  });
});
