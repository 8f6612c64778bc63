import { BatchNorm, Rng } from '@relkd/core';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend';

/**
 * `RelkdBatchNormTrain` / `RelkdBatchNormTrainGrad` on wasm against the composed chain of
 * @relkd/core's `BatchNorm` (the kernels unregistered), bit for bit (float32 bit patterns, not a
 * tolerance): the output, the gradients to x, gamma and beta, and the running statistics after the
 * update, at MTKD-SSR's and CORSD's BatchNorm shapes and at odd ones.
 */

const NAMES = [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD] as const;
let fusedConfigs: tf.KernelConfig[] = [];
let calls = 0;

/** Pseudo-random float32 values with mixed magnitudes around `offset` (sums show their order). */
function floats(n: number, seed: number, offset = 0): Float32Array {
  const rng = new Rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 2 * rng.next() - 1;
    v[i] = offset + (i % 7 === 0 ? u * 30 : i % 3 === 0 ? u * 1e-3 : u);
  }
  return v;
}

function bits(t: tf.Tensor): number[] {
  const d = t.dataSync() as Float32Array;
  return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
}

/** Registers the (counted) kernels, or leaves them unregistered. */
function use(fused: boolean) {
  for (const name of NAMES)
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
  if (fused) for (const c of fusedConfigs) tf.registerKernel(c);
}

/** The BatchNorm's output, gradients and running statistics (bits), fused or composed. */
function run(shape: number[], seed: number, fused: boolean) {
  use(fused);
  const before = tf.memory().numTensors;
  const c = shape[shape.length - 1] as number;
  const size = shape.reduce((a, b) => a * b, 1);
  const bn = new BatchNorm({ channels: c, momentum: 0.8, epsilon: 1e-3 });
  const init = tf.tidy(() => [
    tf.tensor1d(floats(c, seed + 1, 1)),
    tf.tensor1d(floats(c, seed + 2)),
    tf.tensor1d(floats(c, seed + 3)),
    tf.abs(tf.tensor1d(floats(c, seed + 4, 1))),
  ]);
  bn.setWeights(init);
  const x0 = tf.tensor(floats(size, seed, 3), shape);
  const x = tf.variable(x0);
  const w = tf.tensor(floats(size, seed + 5), shape);
  const [gamma, beta] = bn.trainableVariables as [tf.Variable, tf.Variable];
  let out: number[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const y = bn.apply(x, { training: true });
    out = bits(y);
    return tf.sum(tf.mul(y, w));
  }, [x, gamma, beta]);
  const result = {
    out,
    dx: bits(grads[x.name] as tf.Tensor),
    dGamma: bits(grads[gamma.name] as tf.Tensor),
    dBeta: bits(grads[beta.name] as tf.Tensor),
    stats: bn.variables.slice(2).map(bits),
  };
  tf.dispose([value, ...Object.values(grads), x0, x, w, ...init]);
  bn.dispose();
  expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
  return result;
}

describe('training-mode BatchNorm kernels on wasm: the composed chain, bit for bit', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    fusedConfigs = NAMES.map((name) => {
      const config = tf.getKernel(name, 'wasm') as tf.KernelConfig;
      return {
        ...config,
        kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
          calls++;
          return config.kernelFunc(args);
        },
      };
    });
  });
  afterAll(() => {
    use(true);
  });

  it('is wasm-only: the cpu backend composes tfjs-core ops', () => {
    for (const name of NAMES) expect(tf.getKernel(name, 'cpu')).toBeUndefined();
    for (const name of NAMES) expect(tf.getKernel(name, 'wasm')).toBeDefined();
  });

  it('without a gradient tape: same output and running statistics, no tensor left behind', () => {
    const shape = [6, 3, 3, 11];
    const result = (fused: boolean) => {
      use(fused);
      const before = tf.memory().numTensors;
      const bn = new BatchNorm({ channels: 11 });
      const x = tf.tensor(floats(6 * 3 * 3 * 11, 5, -2), shape);
      const y = bn.apply(x, { training: true });
      const out = { y: bits(y), stats: bn.variables.slice(2).map(bits) };
      tf.dispose([x, y]);
      bn.dispose();
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    calls = 0;
    const composed = result(false);
    expect(calls).toBe(0);
    const fused = result(true);
    expect(calls).toBe(1);
    expect(fused).toEqual(composed);
  });

  it.each([
    // MTKD-SSR's adapters and stage heads (3-stage MNIST student, batch 64).
    [[64, 14, 14, 16]],
    [[64, 7, 7, 32]],
    [[64, 7, 7, 8]],
    [[64, 4, 4, 64]],
    [[64, 4, 4, 16]],
    // CORSD's relation networks: pair trunks and the score head ([B, hidden]).
    [[128, 7, 7, 32]],
    [[64, 14, 14, 8]],
    [[128, 64]],
    [[64, 32]],
    // Odd sizes and tails: channels not a multiple of 8 or 16, one row, one channel.
    [[3, 5, 7, 13]],
    [[5, 3, 3, 17]],
    [[7, 19]],
    [[1, 1, 1, 5]],
    [[9, 1]],
    [[1, 4]],
  ])('%j: output, dx, dgamma, dbeta and running statistics identical', (shape) => {
    const seed = shape.reduce((a, b) => a * 31 + b, 7);
    calls = 0;
    const composed = run(shape, seed, false);
    expect(calls).toBe(0);
    const fused = run(shape, seed, true);
    expect(calls, 'one forward and one backward kernel').toBe(2);
    for (const key of ['out', 'dx', 'dGamma', 'dBeta'] as const) {
      const a = composed[key];
      const b = fused[key];
      expect(b.length).toBe(a.length);
      const first = b.findIndex((v, i) => v !== a[i]);
      expect(first, `${key}: first differing element`).toBe(-1);
    }
    expect(fused.stats).toEqual(composed.stats);
  });
});
