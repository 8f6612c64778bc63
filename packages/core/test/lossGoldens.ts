// The golden value-and-gradient cases of core's four losses (float64 numpy reference and PyTorch),
// shared by core's tests (plain tfjs: composed ops) and tools/integration (@relkd/backend: fused
// kernels), so that both paths are held to the same fixtures and tolerances.

import { expectClose, loadFixture } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { crossEntropy } from '../src/losses/crossEntropy';
import { kdLoss } from '../src/losses/kdLoss';
import { klDivergence } from '../src/losses/klDivergence';
import { softCrossEntropy } from '../src/losses/softCrossEntropy';

type Matrix = number[][];
interface CeCase {
  logits: Matrix;
  labels: number[];
  value: number;
  grad: Matrix;
}
interface SoftCase {
  logits: Matrix;
  targets: Matrix;
  temperature: number;
  value: number;
  grad: Matrix;
}
interface KlCase {
  student: Matrix;
  teacher: Matrix;
  temperature: number;
  scaleByTSquared?: boolean;
  value: number;
  grad: Matrix;
}

export const ce = loadFixture<{ cases: CeCase[] }>(import.meta.url, 'crossEntropy').cases;
export const soft = loadFixture<{ cases: SoftCase[] }>(import.meta.url, 'softCrossEntropy').cases;
export const kl = loadFixture<{ cases: KlCase[] }>(import.meta.url, 'klDivergence').cases;
export const kd = loadFixture<{ cases: KlCase[] }>(import.meta.url, 'kdLoss').cases;
export const kdTorch = loadFixture<{ source: string; cases: KlCase[] }>(
  import.meta.url,
  'kdLoss_torch',
);

const GRAD_TOL = { rtol: 1e-3, atol: 1e-7, label: 'gradient' };

/**
 * Registers (inside the caller's `describe`) one test per golden case of `crossEntropy`,
 * `softCrossEntropy`, `klDivergence` and `kdLoss`: value and gradient against the fixtures.
 */
export function lossGoldenCases(): void {
  it.each(ce.map((c, i) => [i, c] as const))('crossEntropy case %i', (_, c) => {
    const y = tf.tensor1d(c.labels, 'int32');
    const z = tf.tensor2d(c.logits);
    expectClose(crossEntropy(z, y), c.value);
    expectClose(crossEntropy(c.logits, c.labels), c.value);
    expectClose(tf.grad((x: tf.Tensor) => crossEntropy(x, y))(z), c.grad, GRAD_TOL);
  });

  it.each(soft.map((c, i) => [i, c] as const))('softCrossEntropy case %i', (_, c) => {
    const q = tf.tensor2d(c.targets);
    const z = tf.tensor2d(c.logits);
    const opts = { temperature: c.temperature };
    expectClose(softCrossEntropy(z, q, opts), c.value);
    expectClose(tf.grad((x: tf.Tensor) => softCrossEntropy(x, q, opts))(z), c.grad, GRAD_TOL);
  });

  it.each(kl.map((c, i) => [i, c] as const))('klDivergence case %i', (_, c) => {
    const t = tf.tensor2d(c.teacher);
    const s = tf.tensor2d(c.student);
    const opts = { temperature: c.temperature, scaleByTSquared: c.scaleByTSquared ?? false };
    expectClose(klDivergence(s, t, opts), c.value);
    expectClose(tf.grad((x: tf.Tensor) => klDivergence(x, t, opts))(s), c.grad, GRAD_TOL);
  });

  it.each(kd.map((c, i) => [i, c] as const))('kdLoss case %i', (_, c) => {
    const t = tf.tensor2d(c.teacher);
    const s = tf.tensor2d(c.student);
    const opts = { temperature: c.temperature };
    expectClose(kdLoss(s, t, opts), c.value);
    expectClose(tf.grad((x: tf.Tensor) => kdLoss(x, t, opts))(s), c.grad, GRAD_TOL);
  });

  it('kdLoss equals PyTorch kl_div(log_softmax(s/T), softmax(t/T), batchmean)·T² (value and grad)', () => {
    expect(kdTorch.source).toMatch(/^torch /);
    expect(kdTorch.cases.map((c) => c.temperature)).toEqual(expect.arrayContaining([1, 4]));
    for (const c of kdTorch.cases) {
      const t = tf.tensor2d(c.teacher);
      const s = tf.tensor2d(c.student);
      const opts = { temperature: c.temperature };
      expectClose(kdLoss(s, t, opts), c.value, { label: `T=${c.temperature} value` });
      expectClose(tf.grad((x: tf.Tensor) => kdLoss(x, t, opts))(s), c.grad, GRAD_TOL);
    }
  });
}
