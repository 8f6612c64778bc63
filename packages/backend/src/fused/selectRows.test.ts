import { Rng } from '@relkd/core';
import { BACKENDS, expectNoLeak, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerFusedKernels } from './registerFusedKernels';
import {
  SELECT_ROWS_GRAD_KERNEL,
  SELECT_ROWS_KERNEL,
  segmentSumBlocked,
  segmentSumSequential,
} from './selectRows';

/**
 * Float32 values whose sums depend on the order of the additions: random signs and mantissas,
 * exponents over 2^-20 .. 2^20, and some +0 / -0 entries.
 */
function awkward(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.03) out[i] = 0;
    else if (r < 0.06) out[i] = -0;
    else {
      const sign = rng.next() < 0.5 ? -1 : 1;
      out[i] = sign * (1 + rng.next()) * 2 ** Math.floor(rng.next() * 41 - 20);
    }
  }
  return out;
}

/** Indices in [0, rows) (or one past either end with `outside`), runs of repeats included. */
function indicesFor(k: number, rows: number, seed: number, outside = false): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    const r = rng.next();
    if (outside && r < 0.05) out[i] = rng.next() < 0.5 ? -1 : rows;
    else if (i > 0 && r < 0.3) out[i] = out[i - 1] as number;
    else out[i] = Math.floor(rng.next() * rows);
  }
  return out;
}

/** The one-hot selector the composed path multiplies by (tfjs `oneHot` needs depth >= 2). */
function selector(idx: tf.Tensor1D, rows: number): tf.Tensor2D {
  return tf.tidy(() => {
    const hot = rows === 1 ? tf.expandDims(tf.equal(idx, 0), 1) : tf.oneHot(idx, rows);
    return tf.cast(hot, 'float32') as tf.Tensor2D;
  });
}

/** The float32 bit patterns (so +0 and -0 differ). */
function bits(t: tf.Tensor): Uint32Array {
  return new Uint32Array(new Float32Array(t.dataSync()).buffer);
}

/** How many entries differ bit for bit. */
function differing(a: Uint32Array, b: Uint32Array): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

// CORSD's pair batches at the MNIST student's stages ([4B, N] one-hot times [N, H·W·C], as plain
// rows and as the joint pair layout: 2 groups, chunks of C), then odd sizes: tails of the wasm
// GEMM tiles and of the cpu blocks (48), a single row, many repeats, indices out of range.
const CASES = [
  { name: 'stage 1 [256, 64]·[64, 1568]', k: 256, rows: 64, width: 1568 },
  { name: 'stage 1 joint pairs (G 2, C 8)', k: 256, rows: 64, width: 1568, groups: 2, channels: 8 },
  {
    name: 'stage 2 joint pairs (G 2, C 32)',
    k: 256,
    rows: 64,
    width: 1568,
    groups: 2,
    channels: 32,
    seed: 7,
  },
  { name: 'stage 3 [256, 64]·[64, 1024]', k: 256, rows: 64, width: 1024 },
  {
    name: 'stage 3 joint pairs (G 2, C 64)',
    k: 256,
    rows: 64,
    width: 1024,
    groups: 2,
    channels: 64,
  },
  {
    name: 'three groups (gatherPairs-like) [51, 17]·[17, 12], C 4',
    k: 51,
    rows: 17,
    width: 12,
    groups: 3,
    channels: 4,
  },
  { name: 'odd [37, 5]·[5, 13]', k: 37, rows: 5, width: 13 },
  { name: 'many repeats [203, 3]·[3, 9]', k: 203, rows: 3, width: 9 },
  {
    name: 'many repeats, 7 groups [203, 3]·[3, 9], C 3',
    k: 203,
    rows: 3,
    width: 9,
    groups: 7,
    channels: 3,
  },
  { name: 'one row [7, 1]·[1, 3]', k: 7, rows: 1, width: 3 },
  {
    name: 'indices outside [0, N) [62, 6]·[6, 18], G 2, C 6',
    k: 62,
    rows: 6,
    width: 18,
    groups: 2,
    channels: 6,
    outside: true,
  },
  { name: 'indices outside [0, N) [61, 6]·[6, 17]', k: 61, rows: 6, width: 17, outside: true },
];

/** `[K, D]` rows of the product in the kernel's `[K/G, D/C, G, C]` layout. */
function toLayout(
  t: tf.Tensor,
  k: number,
  width: number,
  groups: number,
  channels: number,
): tf.Tensor {
  return tf.transpose(
    tf.reshape(t, [groups, k / groups, width / channels, channels]),
    [1, 2, 0, 3],
  );
}

/** The kernel's layout back to `[K, D]` rows. */
function fromLayout(
  t: tf.Tensor,
  k: number,
  width: number,
  groups: number,
  channels: number,
): tf.Tensor {
  return tf.reshape(
    tf.transpose(tf.reshape(t, [k / groups, width / channels, groups, channels]), [2, 0, 1, 3]),
    [k, width],
  );
}

describe.each(BACKENDS)('RelkdSelectRows / RelkdSelectRowsGrad on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('are registered by useBackend', () => {
    expect(tf.getKernel(SELECT_ROWS_KERNEL, backend)).toBeDefined();
    expect(tf.getKernel(SELECT_ROWS_GRAD_KERNEL, backend)).toBeDefined();
  });

  describe.each(CASES)('$name', ({ k, rows, width, seed = 1, outside = false, ...rest }) => {
    const groups = (rest as { groups?: number }).groups ?? 1;
    const channels = (rest as { channels?: number }).channels ?? width;
    const layout = { rows, width, groups, channels };
    const attrs = { groups, channels };

    it('forward: bit-identical to oneHot(indices, N) · x in that layout (-0 becomes +0)', () => {
      const x = tf.tensor2d(awkward(rows * width, seed), [rows, width]);
      const idx = tf.tensor1d(indicesFor(k, rows, seed + 1, outside), 'int32');
      const fused = tf
        .engine()
        .runKernel(SELECT_ROWS_KERNEL, { x, indices: idx }, attrs) as tf.Tensor;
      const composed = tf.tidy(() =>
        toLayout(tf.matMul(selector(idx, rows), x), k, width, groups, channels),
      );
      expect(fused.shape).toEqual([k / groups, width / channels, groups, channels]);
      expect(differing(bits(fused), bits(composed))).toBe(0);
      tf.dispose([x, idx, fused, composed]);
    });

    it("gradient: bit-identical to the product's gradient oneHot(indices, N)ᵀ · dy", () => {
      const dy = tf.tensor4d(awkward(k * width, seed + 2), [
        k / groups,
        width / channels,
        groups,
        channels,
      ]);
      const idx = tf.tensor1d(indicesFor(k, rows, seed + 1, outside), 'int32');
      const fused = tf
        .engine()
        .runKernel(SELECT_ROWS_GRAD_KERNEL, { dy, indices: idx }, { rows, ...attrs }) as tf.Tensor;
      // what tfjs' BatchMatMul gradient computes for the selection matrix (after the transposes)
      const composed = tf.tidy(() =>
        tf.matMul(selector(idx, rows), fromLayout(dy, k, width, groups, channels), true, false),
      );
      expect(fused.shape).toEqual([rows, width]);
      const reference = bits(composed);
      expect(differing(bits(fused), reference)).toBe(0);

      // The data can tell summation orders apart: the other backend's order, or this one's
      // with the additions reversed, would fail the comparison above.
      const g = dy.dataSync() as Float32Array;
      const ix = idx.dataSync() as Int32Array;
      const other = new Float32Array(rows * width);
      if (backend === 'wasm') segmentSumBlocked(g, ix, layout, 48, other);
      else segmentSumSequential(g, ix, layout, other);
      const rowsK = fromLayout(dy, k, width, groups, channels).dataSync() as Float32Array;
      const revDy = new Float32Array(k * width);
      for (let i = 0; i < k; i++)
        revDy.set(rowsK.subarray((k - 1 - i) * width, (k - i) * width), i * width);
      const reversed = new Float32Array(rows * width);
      segmentSumSequential(
        revDy,
        Int32Array.from(ix).reverse(),
        { rows, width, groups: 1, channels: width },
        reversed,
      );
      if (rows < k && k > 48) {
        expect(differing(new Uint32Array(other.buffer), reference)).toBeGreaterThan(0);
        expect(differing(new Uint32Array(reversed.buffer), reference)).toBeGreaterThan(0);
      }
      tf.dispose([dy, idx, fused, composed]);
    });
  });

  it('leaves no tensor behind', () => {
    const x = tf.tensor2d(awkward(12, 3), [4, 3]);
    const idx = tf.tensor1d([3, 0, 0, 2], 'int32');
    expectNoLeak(() => {
      tf.dispose(tf.engine().runKernel(SELECT_ROWS_KERNEL, { x, indices: idx }, {}) as tf.Tensor);
      tf.dispose(
        tf
          .engine()
          .runKernel(SELECT_ROWS_GRAD_KERNEL, { dy: x, indices: idx }, { rows: 5 }) as tf.Tensor,
      );
    });
    tf.dispose([x, idx]);
  });

  it('registerFusedKernels registers both for this backend', () => {
    tf.unregisterKernel(SELECT_ROWS_KERNEL, backend);
    tf.unregisterKernel(SELECT_ROWS_GRAD_KERNEL, backend);
    expect(registerFusedKernels()).toBe(2);
  });
});
