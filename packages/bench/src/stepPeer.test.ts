/**
 * The PyTorch whole-step peer (tools/reference/step_torch.py) must time the steps the benchmark
 * times: `/usr/bin/python3 tools/reference/step_torch.py --fixture` writes
 * fixtures/torch_steps.json (B = 8 MNIST-sized images, deterministic hashed weights, the per-step
 * draws) with, per variant, the tfjs-layout shape of every weight of every model and module and
 * the loss of two steps (step 2 follows one Adam update). Here the same steps are built the way
 * the benchmark builds them (wholeStepSetup.ts: examples/mnist's models, arms and tuned
 * configurations, Adam 0.005), given the same weights, and must agree.
 *
 * What is checked: every model and module has the same weights in the same order and layout
 * (so the same parameter counts and output shapes), and `Distiller.step`'s total loss equals the
 * peer's at step 1 and step 2 (the latter checks Adam's update of every trained variable).
 * What is replayed rather than drawn: the per-step random draws (VRM's virtual view, STKD's
 * mixup λ and permutation, CORSD's triplets) come from the fixture, injected through the
 * recipe's `batchTransform` (the STKD one re-creates the recipe's transform with `mixupWith`);
 * that the peer's draws follow the same distributions is argued in step_torch.py; of them, the
 * virtual view's strength is tested (below: mean |view − x| over 128 views, a two-sample test).
 * The fixture's images are structured (blobs, not noise) and its VRM views are chosen so that the
 * unreliable-edge pruning has no near-tie at either step (`uepMargins`): at a tie the loss jumps
 * with the last bit of rounding, and PyTorch with 1 or 2 threads disagrees with itself there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIGIT_SAFE_OPS, virtualView } from '@relkd/affinity-graph';
import type { DistillerParts } from '@relkd/layers';
import { mixupWith } from '@relkd/mixup-similarity';
import { useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildWholeStep,
  STEP_LR,
  type StepVariant,
  stepVariants,
  variantId,
  type WeightRole,
} from './wholeStepSetup';

interface Draw {
  view: number[][][][];
  lambda: number;
  permutation: number[];
  positive: number[];
  negative: number[];
  negativeLabels: number[];
}
interface Fixture {
  lr: number;
  viewChange: number[];
  x: number[][][][];
  y: number[];
  draws: Draw[];
  methods: Record<
    string,
    {
      values: number[];
      modules: Record<string, { shapes: Array<[WeightRole, number[]]>; trainableParams: number }>;
    }
  >;
}

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'torch_steps.json'), 'utf8'),
) as Fixture;

/** step_torch.py's `hash_uniform`: element i of tensor k -> [-1, 1) by an exact 32-bit integer hash. */
function hashUniform(i: number, k: number): number {
  let h = (Math.imul(i, 0x9e3779b1) + Math.imul(k, 0x85ebca77) + 0x165667b1) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  h = Math.imul(h, 0x297a2d39) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return (h / 2 ** 32) * 2 - 1;
}

/**
 * step_torch.py's fixture weights: element i (row-major, tfjs layout) of the k-th tensor of a
 * model from u = hashUniform(i, k): kernels u·sqrt(6 / fan_in) (fan_in = size / last dim),
 * biases, beta and moving mean 0.1·u, gamma 1 + 0.1·u, moving variance 1 + 0.5·|u|.
 */
function fixtureWeights(shapes: ReadonlyArray<[WeightRole, number[]]>): tf.Tensor[] {
  return shapes.map(([role, shape], k) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const fanIn = n / shape[shape.length - 1]!;
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = hashUniform(i, k);
      v[i] =
        role === 'kernel'
          ? u * Math.sqrt(6 / fanIn)
          : role === 'gamma'
            ? 1 + 0.1 * u
            : role === 'movingVariance'
              ? 1 + 0.5 * Math.abs(u)
              : 0.1 * u;
    }
    return tf.tensor(v, shape, 'float32');
  });
}

/** Replaces a recipe's per-step random draws with the fixture's (step i uses draws[i]). */
function replayDraws(method: string, views: tf.Tensor4D[]) {
  return (parts: DistillerParts): DistillerParts => {
    const draw = (step: number) => fixture.draws[step]!;
    if (method === 'vrm') {
      return {
        ...parts,
        batchTransform: (b, c) => ({ ...b, views: { ...b.views, virtual: views[c.step]! } }),
      };
    }
    if (method === 'stkd') {
      // the recipe's transform ('teacherOnMixed'), with λ and π given instead of drawn
      return {
        ...parts,
        batchTransform: (b, c) => {
          const d = draw(c.step);
          const m = mixupWith(b.x, b.y, {
            numClasses: 10,
            lambda: d.lambda,
            permutation: d.permutation,
          });
          return { ...b, x: m.inputs, data: { ...b.data, mixup: m } };
        },
      };
    }
    if (method === 'corsd') {
      return {
        ...parts,
        batchTransform: (b, c) => {
          const d = draw(c.step);
          const i32 = (v: number[]) => tf.tensor1d(v, 'int32');
          const triplet = {
            anchor: i32(d.positive.map((_, i) => i)),
            positive: i32(d.positive),
            negative: i32(d.negative),
            negativeLabels: i32(d.negativeLabels),
          };
          return { ...b, data: { ...b.data, triplet } };
        },
      };
    }
    return parts;
  };
}

const variants = stepVariants();

describe('the PyTorch whole-step peer runs the benchmark’s steps', () => {
  beforeAll(() => useTestBackend('cpu'));

  it('covers every variant of the whole-step benchmark, at its learning rate', () => {
    expect(Object.keys(fixture.methods).sort()).toEqual(variants.map(variantId).sort());
    expect(fixture.lr).toBe(STEP_LR);
    expect(fixture.draws.length).toBeGreaterThanOrEqual(2);
  });

  it('the peer’s virtual view changes the images as much as virtualView (4-sigma two-sample test)', () => {
    const x = tf.tensor4d(fixture.x);
    const n = fixture.viewChange.length;
    const ours = Array.from({ length: n }, (_, i) =>
      tf.tidy(
        () =>
          tf
            .mean(
              tf.abs(
                tf.sub(
                  virtualView(x, { numOps: 2, magnitude: 9, ops: DIGIT_SAFE_OPS, seed: i + 1 }),
                  x,
                ),
              ),
            )
            .dataSync()[0]!,
      ),
    );
    x.dispose();
    const stats = (v: number[]) => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return { m, v: v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1) };
    };
    const a = stats(ours);
    const b = stats(fixture.viewChange);
    const z = Math.abs(a.m - b.m) / Math.sqrt(a.v / ours.length + b.v / n);
    expect({ z: z <= 4, tfjs: a.m, torch: b.m }).toEqual({ z: true, tfjs: a.m, torch: b.m });
  });

  it.each(
    variants.map((v): [string, StepVariant] => [variantId(v), v]),
  )('%s: same weights (shapes, order, counts); same loss at step 1 and step 2 (rtol 1e-4)', (id, variant) => {
    const expected = fixture.methods[id]!;
    const views = fixture.draws.map((d) => tf.tensor4d(d.view));
    const step = buildWholeStep(variant, { edit: replayDraws(variant.method, views) });
    const x = tf.tensor4d(fixture.x);
    const y = tf.tensor1d(fixture.y, 'int32');
    try {
      expect(Object.keys(step.weights).sort()).toEqual(Object.keys(expected.modules).sort());
      for (const [name, w] of Object.entries(step.weights)) {
        const peer = expected.modules[name]!;
        expect({ name, shapes: w.shapes }).toEqual({ name, shapes: peer.shapes });
        expect(w.trainableParams).toBe(peer.trainableParams);
        const ws = fixtureWeights(w.shapes);
        w.setWeights(ws);
        tf.dispose(ws);
      }
      const totals = expected.values.map(() => step.distiller.step(x, y).total);
      totals.forEach((t, i) => {
        const e = expected.values[i]!;
        expect(Number.isFinite(e)).toBe(true);
        expect({ step: i + 1, diff: Math.abs(t - e) <= 1e-4 * Math.abs(e), t, e }).toEqual({
          step: i + 1,
          diff: true,
          t,
          e: expect.any(Number),
        });
      });
    } finally {
      step.dispose();
      tf.dispose([x, y, ...views]);
    }
  });
});
