// Browser smoke test of @relkd/relation-network (Vitest browser mode, `npm run test:browser`):
// corsdLoss against the golden float64 fixture of the node tests, every part and the gradients of
// every input, on cpu, wasm and webgl.
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
import corsdFixture from '../fixtures/corsdLoss.json';
import { type CorsdLossOptions, type CorsdStageInput, corsdLoss } from '../src/index';

interface Case {
  name: string;
  options: CorsdLossOptions;
  posLogits: number[][][];
  negLogits: number[][][];
  posScores: number[][];
  negScores: number[][];
  anchorLabels: number[];
  negativeLabels: number[];
  expected: Record<string, number>;
  grad: Record<'posLogits' | 'negLogits' | 'posScores' | 'negScores', number[][] | number[][][]>;
}
const cases = corsdFixture.cases as unknown as Case[];
const PARTS = ['total', 'kd', 'ce', 'negKd', 'negCe', 'triplet', 'score'] as const;
const GRADS = ['posLogits', 'negLogits', 'posScores', 'negScores'] as const;

/** Stage inputs from stacked `[K, B, C]` logits and `[K, B]` scores (slices, as the node test). */
function stagesOf(up: tf.Tensor, un: tf.Tensor, sp: tf.Tensor, sn: tf.Tensor): CorsdStageInput[] {
  const [K, B, C] = up.shape as [number, number, number];
  const logit = (t: tf.Tensor, k: number) => tf.reshape(tf.slice(t, [k, 0, 0], [1, B, C]), [B, C]);
  const score = (t: tf.Tensor, k: number) => tf.reshape(tf.slice(t, [k, 0], [1, B]), [B, 1]);
  return Array.from({ length: K }, (_, k) => ({
    positive: { logits: logit(up, k), score: score(sp, k) },
    negative: { logits: logit(un, k), score: score(sn, k) },
  }));
}

describe.each(
  BROWSER_BACKENDS,
)('@relkd/relation-network corsdLoss in the browser on %s', (backend) => {
  const ledger = browserSuite('relation-network', backend, wasmModule);

  it('golden parts and gradients of every input vs the float64 reference', () => {
    expect(cases.length).toBeGreaterThan(1);
    tf.tidy(() => {
      for (const c of cases) {
        const xs = [
          tf.tensor3d(c.posLogits),
          tf.tensor3d(c.negLogits),
          tf.tensor2d(c.posScores),
          tf.tensor2d(c.negScores),
        ];
        const ya = tf.tensor1d(c.anchorLabels, 'int32');
        const yn = tf.tensor1d(c.negativeLabels, 'int32');
        const f = (a: tf.Tensor, b: tf.Tensor, s: tf.Tensor, t: tf.Tensor) =>
          corsdLoss(
            { stages: stagesOf(a, b, s, t), anchorLabels: ya, negativeLabels: yn },
            c.options,
          );
        const out = f(xs[0]!, xs[1]!, xs[2]!, xs[3]!);
        for (const p of PARTS) ledger.check(out[p], c.expected[p]!, 'value', `${c.name} ${p}`);
        const g = tf.grads((a, b, s, t) => f(a!, b!, s!, t!).total)(xs);
        GRADS.forEach((name, i) => {
          // node test: gradients rtol 1e-3 / atol 1e-6
          ledger.check(g[i]!, c.grad[name], 'grad', `${c.name} d/d${name}`, { atol: 1e-6 });
        });
      }
    });
  });

  it('leaks no tensor (loss, gradient, and a call that throws)', () => {
    const c = cases[0]!;
    const xs = [
      tf.tensor3d(c.posLogits),
      tf.tensor3d(c.negLogits),
      tf.tensor2d(c.posScores),
      tf.tensor2d(c.negScores),
    ] as const;
    const labels = { anchorLabels: c.anchorLabels, negativeLabels: c.negativeLabels };
    const f = (a: tf.Tensor) =>
      tf.tidy(() => corsdLoss({ stages: stagesOf(a, xs[1], xs[2], xs[3]), ...labels }, c.options));
    expectNoLeak(() => f(xs[0]));
    expectNoLeak(() => tf.grad((a: tf.Tensor) => f(a).total)(xs[0]));
    const stages = stagesOf(...xs);
    const bad = { ...labels, anchorLabels: [0] };
    expectRelkdError(() => corsdLoss({ stages, ...bad }, c.options), 'SHAPE_MISMATCH');
    tf.dispose([...xs, stages as unknown as tf.TensorContainer]);
  });
});
