import { FusedAdamOptimizer, Rng } from '@relkd/core';
import { FUSED_ADAM } from '@relkd/core/internal';
import { BACKENDS, expectClose, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerFusedKernels } from './registerFusedKernels';

/** Deterministic pseudo-random values in [-scale, scale). */
function values(n: number, rng: Rng, scale = 1): number[] {
  return Array.from({ length: n }, () => (2 * rng.next() - 1) * scale);
}

// [160, 128]: above WASM_JS_ADAM_MAX, the wasm kernel runs tfjs' element-wise kernels.
const SHAPES: number[][] = [[3, 3, 2, 4], [4], [], [7, 5], [160, 128]];

/** Variables of SHAPES (fresh, seeded), named `${prefix}i`. */
function makeVariables(prefix: string): tf.Variable[] {
  const rng = new Rng(5);
  return SHAPES.map((shape, i) =>
    tf.variable(
      tf.tensor(
        values(
          shape.reduce((a, b) => a * b, 1),
          rng,
        ),
        shape,
      ),
      true,
      `${prefix}${i}`,
    ),
  );
}

/**
 * `steps` optimizer steps on SHAPES' variables with seeded gradients of varied scale (some
 * exactly 0, some tiny), the learning rate changed half way (a schedule); returns the
 * parameters and the optimizer state (`getWeights`: iterations, m and v per variable).
 */
async function train(optimizer: tf.AdamOptimizer, prefix: string, steps: number) {
  const vars = makeVariables(prefix);
  const rng = new Rng(9);
  for (let s = 0; s < steps; s++) {
    if (s === steps >> 1) (optimizer as unknown as { learningRate: number }).learningRate = 3e-4;
    const scale = [1, 1e-3, 50, 0][s % 4] as number;
    // Half the steps as a map by name, half as a list (both forms of applyGradients).
    const grads = vars.map((v) => ({
      name: v.name,
      tensor: tf.tensor(values(v.size, rng, scale), v.shape),
    }));
    optimizer.applyGradients(
      s % 2 === 0
        ? grads
        : (Object.fromEntries(grads.map((g) => [g.name, g.tensor])) as tf.NamedTensorMap as never),
    );
    tf.dispose(grads.map((g) => g.tensor));
  }
  const params = vars.map((v) => Array.from(v.dataSync()));
  const state = (await optimizer.getWeights()).map((w) => Array.from(w.tensor.dataSync()));
  tf.dispose(vars);
  return { params, state };
}

describe.each(BACKENDS)('FusedAdamOptimizer with the RelkdAdam kernel on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });
  afterEach(() => {
    registerFusedKernels();
  });

  it('is bit-identical to tf.train.adam over 200 steps (parameters, m, v; learning-rate change)', async () => {
    const reference = tf.train.adam(1e-2);
    const fused = new FusedAdamOptimizer(1e-2);
    const a = await train(reference, 'ref', 200);
    const b = await train(fused, 'fused', 200);
    expect(b.params).toEqual(a.params);
    expect(b.state).toEqual(a.state);
    reference.dispose();
    fused.dispose();
  });

  it('non-default betas and epsilon: bit-identical to tf.train.adam', async () => {
    const reference = tf.train.adam(0.05, 0.5, 0.75, 1e-3);
    const fused = new FusedAdamOptimizer(0.05, 0.5, 0.75, 1e-3);
    const a = await train(reference, 'ref', 30);
    const b = await train(fused, 'fused', 30);
    expect(b.params).toEqual(a.params);
    expect(b.state).toEqual(a.state);
    reference.dispose();
    fused.dispose();
  });

  it('matches a float64 reference of the Adam formula over 3 steps', () => {
    const rng = new Rng(3);
    const x0 = values(50, rng);
    const grads = [values(50, rng), values(50, rng, 10), values(50, rng, 0.01)];
    const [lr, b1, b2, eps] = [0.1, 0.9, 0.999, 1e-7];
    const name = `f64ref_${backend}`;
    const x = tf.variable(tf.tensor1d(x0), true, name);
    const optimizer = new FusedAdamOptimizer(lr, b1, b2, eps);
    // float64 arithmetic with tfjs' float32 bookkeeping of β₁ᵗ and β₂ᵗ (1 − β₂ᵗ loses 1e-5
    // relative to float32 rounding of β₂ itself, which tf.train.adam shares).
    const f32 = Math.fround;
    let acc1 = f32(b1);
    let acc2 = f32(b2);
    const want = [...x0];
    const m = new Array<number>(50).fill(0);
    const v = new Array<number>(50).fill(0);
    for (const g of grads) {
      tf.tidy(() => optimizer.applyGradients([{ name, tensor: tf.tensor1d(g) }]));
      for (let i = 0; i < 50; i++) {
        const gi = g[i] as number;
        m[i] = b1 * (m[i] as number) + (1 - b1) * gi;
        v[i] = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        const mHat = (m[i] as number) / (1 - acc1);
        const vHat = (v[i] as number) / (1 - acc2);
        want[i] = (want[i] as number) - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      acc1 = f32(acc1 * f32(b1));
      acc2 = f32(acc2 * f32(b2));
    }
    expectClose(Array.from(x.dataSync()), want, { rtol: 1e-5, atol: 1e-6 });
    x.dispose();
    optimizer.dispose();
  });

  it('runs one RelkdAdam kernel per variable (not ~14), leaks nothing, and falls back to tfjs ops without the kernel', async () => {
    const vars = makeVariables('k');
    const optimizer = new FusedAdamOptimizer(1e-3);
    const lossAll = () =>
      vars.map((v) => tf.sum(tf.square(v))).reduce((p, q) => tf.add(p, q)) as tf.Scalar;
    optimizer.minimize(lossAll); // creates the slots
    const before = tf.memory().numTensors;
    const names = async () => {
      const grads = tf.variableGrads(lossAll);
      const list = Object.entries(grads.grads).map(([name, tensor]) => ({ name, tensor }));
      const info = await tf.profile(() => optimizer.applyGradients(list));
      tf.dispose([grads.value, ...Object.values(grads.grads)]);
      return info.kernels.map((k) => k.name);
    };
    const fusedNames = await names();
    expect(fusedNames.filter((n) => n === FUSED_ADAM)).toHaveLength(vars.length);
    // The two accumulated-beta products are the only other kernels.
    expect(fusedNames.length).toBe(vars.length + 2);
    expect(tf.memory().numTensors).toBe(before);
    tf.unregisterKernel(FUSED_ADAM, tf.getBackend());
    const composedNames = await names();
    expect(composedNames).not.toContain(FUSED_ADAM);
    expect(composedNames.length).toBeGreaterThan(10 * vars.length);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(vars);
    optimizer.dispose();
  });
});
