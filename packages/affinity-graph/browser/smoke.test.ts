// Browser smoke test of @relkd/affinity-graph (Vitest browser mode, `npm run test:browser`): vrmLoss
// against the golden float64 fixture of the node tests, value and gradient, on cpu, wasm and webgl.
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
import vrmFixture from '../fixtures/vrm.json';
import { type VrmLossOptions, type VrmPath, vrmLoss } from '../src/index';

type Matrix = number[][];
interface Case {
  inputs: string;
  options: VrmLossOptions & { uep: { kind: string } };
  total: number;
  is: number;
  ic: number;
  gradStudentReal: Matrix;
  gradStudentVirtual: Matrix;
}
const fixture = vrmFixture as unknown as {
  inputs: Record<
    string,
    Record<'studentReal' | 'studentVirtual' | 'teacherReal' | 'teacherVirtual', Matrix>
  >;
  cases: Case[];
};

// node tests: values rtol 1e-5 / atol 1e-6, gradients rtol 1e-3 / atol 1e-5
const GRAD = { atol: 1e-5 };

function inputsOf(kind: string): tf.Tensor2D[] {
  const d = fixture.inputs[kind]!;
  return [d.studentReal, d.studentVirtual, d.teacherReal, d.teacherVirtual].map((m) =>
    tf.tensor2d(m),
  );
}

const loss = (ss: tf.Tensor, sv: tf.Tensor, ts: tf.Tensor, tv: tf.Tensor, o: VrmLossOptions) =>
  vrmLoss({ student: { real: ss, virtual: sv }, teacher: { real: ts, virtual: tv } }, o);

describe.each(BROWSER_BACKENDS)('@relkd/affinity-graph vrmLoss in the browser on %s', (backend) => {
  const ledger = browserSuite('affinity-graph', backend, wasmModule);

  it('golden values and gradients, every option combination and computation path', () => {
    expect(fixture.cases.length).toBeGreaterThan(10);
    tf.tidy(() => {
      for (const [i, c] of fixture.cases.entries()) {
        const [ss, sv, ts, tv] = inputsOf(c.inputs) as [
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
        ];
        const paths: VrmPath[] = c.options.uep.kind === 'clip' ? ['direct'] : ['gram', 'direct'];
        for (const path of paths) {
          const o = { ...c.options, path } as VrmLossOptions;
          const label = `case ${i} (${c.inputs}, ${JSON.stringify(c.options)}) ${path}`;
          const r = loss(ss, sv, ts, tv, o);
          ledger.check(r.total, c.total, 'value', `${label} total`);
          ledger.check(r.is, c.is, 'value', `${label} is`);
          ledger.check(r.ic, c.ic, 'value', `${label} ic`);
          const [gr, gv] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a, b, ts, tv, o).total)([
            ss,
            sv,
          ]);
          ledger.check(gr!, c.gradStudentReal, 'grad', `${label} d/dStudentReal`, GRAD);
          ledger.check(gv!, c.gradStudentVirtual, 'grad', `${label} d/dStudentVirtual`, GRAD);
        }
      }
    });
  });

  it('leaks no tensor (loss, gradient, and a call that throws)', () => {
    const [ss, sv, ts, tv] = inputsOf('random') as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    expectNoLeak(() => loss(ss, sv, ts, tv, {}));
    expectNoLeak(() => tf.grad((x: tf.Tensor) => loss(x, sv, ts, tv, {}).total)(ss));
    const bad = tf.zeros([1, 3]);
    expectRelkdError(() => loss(ss, sv, ts, bad, {}), 'SHAPE_MISMATCH');
    tf.dispose([ss, sv, ts, tv, bad]);
  });
});
