import { crossEntropy, kdLoss, klDivergence, Rng, softCrossEntropy } from '@relkd/core';
import { BACKENDS, expectClose, expectNoLeak, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FUSED_KERNELS, registerFusedKernels } from './registerFusedKernels';

/** Deterministic pseudo-random values in [-scale, scale). */
function values(n: number, seed: number, scale: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => (2 * rng.next() - 1) * scale);
}

/** Unregisters the fused kernels of the active backend: core then composes tfjs-core ops. */
function withoutFusedKernels<T>(fn: () => T): T {
  const backend = tf.getBackend();
  for (const name of Object.keys(FUSED_KERNELS)) tf.unregisterKernel(name, backend);
  try {
    return fn();
  } finally {
    registerFusedKernels();
  }
}

type Loss = (s: tf.Tensor2D, t: tf.Tensor2D) => tf.Scalar;

const LOSSES: [string, Loss, string][] = [
  ['klDivergence T=1', (s, t) => klDivergence(s, t), 'RelkdSoftmaxKl'],
  ['kdLoss T=4', (s, t) => kdLoss(s, t, { temperature: 4 }), 'RelkdSoftmaxKl'],
  [
    'softCrossEntropy T=2 (unnormalised targets)',
    (s, t) => softCrossEntropy(s, tf.abs(t) as tf.Tensor2D, { temperature: 2 }),
    'RelkdSoftCrossEntropy',
  ],
  [
    // Labels i mod C; `t` enters with weight 0 so that both gradients exist (dt must be 0).
    'crossEntropy (hard labels)',
    (s, t) =>
      tf.add(
        crossEntropy(
          s,
          tf.tensor1d(
            Array.from({ length: s.shape[0] }, (_, i) => i % s.shape[1]),
            'int32',
          ),
        ),
        tf.mul(tf.sum(t), 0),
      ) as tf.Scalar,
    'RelkdSoftCrossEntropy',
  ],
];

/** Value and gradient with respect to both inputs. */
function run(loss: Loss, s: tf.Tensor2D, t: tf.Tensor2D) {
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
    loss(a as tf.Tensor2D, b as tf.Tensor2D),
  )([s, t]);
  const out = {
    value: value.dataSync()[0] as number,
    ds: Array.from(grads[0]?.dataSync() ?? []),
    dt: Array.from(grads[1]?.dataSync() ?? []),
  };
  tf.dispose([value, ...grads]);
  return out;
}

describe.each(BACKENDS)('fused loss kernels registered by useBackend on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });
  afterEach(() => {
    registerFusedKernels();
  });

  describe.each(LOSSES)('%s', (_name, loss, kernel) => {
    it.each([
      { b: 3, c: 5, scale: 3 },
      { b: 16, c: 100, scale: 20 },
      { b: 1, c: 1, scale: 1 },
    ])('equals the composite path (B $b, C $c, logits ±$scale), value and both gradients', ({
      b,
      c,
      scale,
    }) => {
      const s = tf.tensor2d(values(b * c, 7 + c, scale), [b, c]);
      const t = tf.tensor2d(values(b * c, 11 + b, scale), [b, c]);
      const fused = run(loss, s, t);
      const composite = withoutFusedKernels(() => run(loss, s, t));
      // The fused kernel accumulates in float64: agreement to float32 rounding of the composite.
      expectClose([fused.value], [composite.value], { rtol: 1e-5, atol: 1e-6 });
      expectClose(fused.ds, composite.ds, { rtol: 1e-4, atol: 1e-6 });
      expect(fused.dt.every((v) => v === 0)).toBe(true);
      expect(composite.dt.every((v) => v === 0)).toBe(true);
      tf.dispose([s, t]);
    });

    it(`runs as the ${kernel} kernel, leak-free, and composes ops when it is not registered`, async () => {
      const s = tf.tensor2d(values(12, 3, 2), [3, 4]);
      const t = tf.tensor2d(values(12, 4, 2), [3, 4]);
      const names = async () =>
        (
          await tf.profile(() => {
            tf.tidy(() => run(loss, s, t));
          })
        ).kernels.map((k) => k.name);
      expect(await names()).toContain(kernel);
      const backend = tf.getBackend();
      for (const name of Object.keys(FUSED_KERNELS)) tf.unregisterKernel(name, backend);
      expect(await names()).not.toContain(kernel);
      // exactly the ones unregistered above (this backend's share of FUSED_KERNELS)
      expect(registerFusedKernels()).toBe(Object.keys(FUSED_KERNELS).length);
      expect(await names()).toContain(kernel);
      expectNoLeak(() => run(loss, s, t));
      tf.dispose([s, t]);
    });

    it.each([
      ['|logits| up to 1e4', values(15, 21, 1e4), values(15, 22, 1e4)],
      ['constant rows', Array(15).fill(3), Array(15).fill(-2)],
      ['duplicate rows', [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5], values(15, 23, 5)],
    ])('%s: finite value and gradients through the kernel', async (_, sv, tv) => {
      const s = tf.tensor2d(sv, [3, 5]);
      const t = tf.tensor2d(tv, [3, 5]);
      const { kernels } = await tf.profile(() => {
        tf.tidy(() => run(loss, s, t));
      });
      expect(kernels.map((k) => k.name)).toContain(kernel);
      const r = run(loss, s, t);
      expect([r.value, ...r.ds, ...r.dt].every(Number.isFinite)).toBe(true);
      tf.dispose([s, t]);
    });
  });
});
