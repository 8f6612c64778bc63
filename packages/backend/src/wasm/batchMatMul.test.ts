import { Rng } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend';
import { transposeLastTwo } from './batchMatMul';

/** Random float32 values over a wide range, with some -0 and +0. */
function values(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.03) out[i] = -0;
    else if (r > 0.97) out[i] = 0;
    else out[i] = (2 * rng.next() - 1) * 2 ** Math.floor(rng.next() * 41 - 20);
  }
  return out;
}

function bits(t: tf.Tensor): number[] {
  return Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer));
}

// The relation networks' 1x1-conv gradients ([2048, 64]ᵀ · [2048, 128]), operands transposed in
// JavaScript (row counts that are multiples of 256, tails of the 64 x 64 tiles, a batch of
// matrices, wide and tall) or by the Transpose kernel (the rest).
const SHAPES: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
  { a: [2048, 64], b: [2048, 128], ta: true, tb: false },
  { a: [2048, 64], b: [128, 64], ta: false, tb: true },
  { a: [3, 256, 37], b: [3, 256, 100], ta: true, tb: false },
  { a: [2, 256, 300], b: [2, 256, 19], ta: true, tb: false },
  { a: [2, 70, 512], b: [2, 19, 512], ta: false, tb: true },
  { a: [768, 16], b: [768, 5], ta: true, tb: false },
  { a: [37, 45], b: [37, 33], ta: true, tb: false },
  { a: [3, 33, 65], b: [3, 31, 65], ta: false, tb: true },
  { a: [2, 70, 5], b: [2, 9, 70], ta: true, tb: true },
  { a: [1, 7], b: [1, 3], ta: true, tb: false },
  { a: [6, 1], b: [5, 1], ta: false, tb: true },
];

describe('wasm BatchMatMul with transposed operands (the JavaScript transpose)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it.each(
    SHAPES,
  )('a $a, b $b, transposeA $ta, transposeB $tb: bit-identical to tfjs Transpose + BatchMatMul', ({
    a,
    b,
    ta,
    tb,
  }) => {
    const x = tf.tensor(
      values(
        a.reduce((p, q) => p * q),
        1,
      ),
      a,
    );
    const y = tf.tensor(
      values(
        b.reduce((p, q) => p * q),
        2,
      ),
      b,
    );
    const swap = (t: tf.Tensor) => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
      return tf.transpose(t, perm);
    };
    const fast = tf.matMul(x, y, ta, tb);
    // the wasm Transpose kernel, then the product without flags (what the wrapper did before)
    const xt = ta ? swap(x) : x;
    const yt = tb ? swap(y) : y;
    const plain = tf.matMul(xt, yt);
    expect(fast.shape).toEqual(plain.shape);
    expect(bits(fast)).toEqual(bits(plain));
    tf.dispose([x, y, fast, xt, yt, plain]);
  });

  it.each([
    [1, 2048, 64],
    [2, 256, 100],
    [1, 70, 300],
    [3, 33, 65],
    [2, 1, 7],
    [1, 40, 1],
  ])('transposeLastTwo(batch %i, %i x %i) equals the Transpose kernel bit for bit', (n, r, c) => {
    const src = values(n * r * c, 3);
    const dst = new Float32Array(src.length);
    transposeLastTwo(src, dst, n, r, c);
    const t = tf.tensor3d(src, [n, r, c]);
    const ref = tf.transpose(t, [0, 2, 1]);
    expect(Array.from(new Uint32Array(dst.buffer))).toEqual(bits(ref));
    tf.dispose([t, ref]);
  });
});
