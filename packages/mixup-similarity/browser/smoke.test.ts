// Browser smoke test of @relkd/mixup-similarity (Vitest browser mode, `npm run test:browser`):
// stkdLoss (both target modes, large and underflowing logits) and mixupWith against the golden
// float64 fixtures of the node tests, values and gradients, on cpu, wasm and webgl.
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
import mixupFixture from '../fixtures/mixup.json';
import stkdFixture from '../fixtures/stkd.json';
import { type MixedTeacher, mixupWith, type StkdLossOptions, stkdLoss } from '../src/index';

type Matrix = number[][];
interface StkdCase {
  name: string;
  targetMode: 'teacherOnMixed' | 'mixedTeacherSoft';
  temperature: number;
  ceWeight: number;
  kdWeight: number;
  student: Matrix;
  targets: Matrix;
  teacher: Matrix | { clean: Matrix; lambda: number | number[]; permutation: number[] };
  ce: number;
  kd: number;
  total: number;
  gradCe: Matrix;
  gradKd: Matrix;
  gradTotal: Matrix;
}
interface MixupCase {
  name: string;
  numClasses: number;
  x: number[];
  labels: number[];
  lambda: number | number[];
  perSample: boolean;
  permutation: number[];
  w: number[];
  inputs: number[];
  targets: Matrix;
  inputGrad: number[];
}
const stkdCases = stkdFixture.cases as unknown as StkdCase[];
const mixupCases = mixupFixture.cases as unknown as MixupCase[];

const optionsOf = (c: StkdCase): StkdLossOptions => ({
  temperature: c.temperature,
  ceWeight: c.ceWeight,
  kdWeight: c.kdWeight,
  targetMode: c.targetMode,
});

function teacherOf(c: StkdCase): tf.Tensor2D | MixedTeacher {
  if (Array.isArray(c.teacher)) return tf.tensor2d(c.teacher);
  const { clean, lambda, permutation } = c.teacher;
  return {
    clean: tf.tensor2d(clean),
    lambda: Array.isArray(lambda) ? tf.tensor1d(lambda) : lambda,
    permutation: tf.tensor1d(permutation, 'int32'),
  };
}

describe.each(BROWSER_BACKENDS)('@relkd/mixup-similarity in the browser on %s', (backend) => {
  const ledger = browserSuite('mixup-similarity', backend, wasmModule);

  it('stkdLoss: golden parts and gradients of every part (both target modes)', () => {
    expect(stkdCases.length).toBeGreaterThan(4);
    tf.tidy(() => {
      for (const c of stkdCases) {
        const s = tf.tensor2d(c.student);
        const targets = tf.tensor2d(c.targets);
        const teacher = teacherOf(c);
        const out = stkdLoss({ student: s, teacher, targets }, optionsOf(c));
        ledger.check(out.total, c.total, 'value', `${c.name} total`);
        ledger.check(out.ce, c.ce, 'value', `${c.name} ce`);
        // node test: kd atol 1e-5 (the KD term of the underflowing case is ~1e-6)
        ledger.check(out.kd, c.kd, 'value', `${c.name} kd`, { atol: 1e-5 });
        for (const part of ['total', 'ce', 'kd'] as const) {
          const g = tf.grad(
            (x: tf.Tensor) => stkdLoss({ student: x, teacher, targets }, optionsOf(c))[part],
          )(s);
          const want = part === 'total' ? c.gradTotal : part === 'ce' ? c.gradCe : c.gradKd;
          ledger.check(g, want, 'grad', `${c.name} d${part}/ds`, { atol: 1e-6 });
        }
      }
    });
  });

  it('mixupWith: golden mixed inputs, targets and input gradient', () => {
    tf.tidy(() => {
      for (const c of mixupCases) {
        const x = tf.tensor(c.x);
        const y = tf.tensor1d(c.labels, 'int32');
        const lambda = c.perSample ? tf.tensor1d(c.lambda as number[]) : (c.lambda as number);
        const opts = { numClasses: c.numClasses, lambda, permutation: c.permutation };
        const m = mixupWith(x, y, opts);
        ledger.check(m.inputs, c.inputs, 'value', `${c.name} inputs`);
        ledger.check(m.targets, c.targets, 'value', `${c.name} targets`);
        const w = tf.tensor(c.w, x.shape);
        const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(mixupWith(xx, y, opts).inputs, w)))(x);
        // node test: input gradient rtol 1e-5 (it is linear in x)
        ledger.check(g, c.inputGrad, 'grad', `${c.name} input gradient`, { rtol: 1e-5 });
      }
    });
  });

  it('leaks no tensor (loss, gradient, and a call that throws)', () => {
    const c = stkdCases[0]!;
    const s = tf.tensor2d(c.student);
    const t = tf.tensor2d(c.teacher as Matrix);
    const y = tf.tensor2d(c.targets);
    expectNoLeak(() => stkdLoss({ student: s, teacher: t, targets: y }));
    expectNoLeak(() =>
      tf.grad((x: tf.Tensor) => stkdLoss({ student: x, teacher: t, targets: y }).total)(s),
    );
    const bad = tf.zeros([1, 3]);
    expectRelkdError(() => stkdLoss({ student: s, teacher: bad, targets: y }), 'SHAPE_MISMATCH');
    tf.dispose([s, t, y, bad]);
  });
});
