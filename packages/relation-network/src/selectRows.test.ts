import { BACKENDS, expectNoLeak, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatherJointPairs, gatherPairs } from './gatherPairs';
import { selectRows } from './selectRows';
import { tripletIndices } from './tripletIndices';

const KERNELS = ['RelkdSelectRows', 'RelkdSelectRowsGrad'] as const;

/** Runs `fn` with the active backend's select-rows kernels unregistered (the composed path). */
function composed<T>(fn: () => T): T {
  const backend = tf.getBackend();
  const saved = KERNELS.map((name) => tf.getKernel(name, backend));
  for (const name of KERNELS) tf.unregisterKernel(name, backend);
  try {
    return fn();
  } finally {
    for (const config of saved) if (config !== undefined) tf.registerKernel(config);
  }
}

/** Float32 bit patterns (+0 and -0 differ). */
function bits(t: tf.Tensor): Uint32Array {
  return new Uint32Array(new Float32Array(t.dataSync()).buffer);
}

/** Value and feature gradient (of `Σ out · dy`) of a pair builder, as bit patterns. */
function valueAndGrad(
  build: (f: tf.Tensor4D) => tf.Tensor,
  f: tf.Tensor4D,
  dy: tf.Tensor,
): { value: Uint32Array; grad: Uint32Array } {
  const out = tf.tidy(() => {
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor) =>
      tf.sum(tf.mul(build(x as tf.Tensor4D), dy)),
    )([f]);
    return { y: build(f), g: grads[0] as tf.Tensor, value };
  });
  const result = { value: bits(out.y), grad: bits(out.g) };
  tf.dispose([out.y, out.g, out.value]);
  return result;
}

function differing(a: Uint32Array, b: Uint32Array): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** Features with -0 entries and a wide range of magnitudes (summation order shows in the bits). */
function features(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const base = tf.randomNormal(shape, 0, 1, 'float32', seed);
    const scale = tf.pow(2, tf.floor(tf.randomUniform(shape, -12, 12, 'float32', seed + 1)));
    const v = tf.mul(base, scale);
    // about 5 % exact -0
    const zero = tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed + 2), 0.05);
    return tf.where(zero, tf.fill(shape, -0), v) as tf.Tensor4D;
  });
}

describe.each(BACKENDS)('selectRows (RelkdSelectRows kernel pair) on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });
  afterEach(() => {
    for (const name of KERNELS) expect(tf.getKernel(name, backend)).toBeDefined();
  });

  // CORSD's stages on the MNIST student (batch 64, pairs of 4B rows), then odd sizes.
  const CASES: Array<{ name: string; shape: [number, number, number, number]; b?: number }> = [
    { name: 'stage 1 [64, 14, 14, 8]', shape: [64, 14, 14, 8] },
    { name: 'stage 2 [64, 7, 7, 32]', shape: [64, 7, 7, 32] },
    { name: 'stage 3 [64, 4, 4, 64]', shape: [64, 4, 4, 64] },
    { name: 'odd [13, 3, 5, 3]', shape: [13, 3, 5, 3] },
    { name: 'two classes [6, 1, 1, 7], B 6', shape: [6, 1, 1, 7] },
  ];

  describe.each(CASES)('$name', ({ shape }) => {
    const n = shape[0];
    const labels = Array.from({ length: n }, (_, i) => i % Math.min(10, Math.max(2, n >> 1)));

    it.each([
      'gatherJointPairs',
      'gatherPairs (positive, negative)',
    ])('%s: values and feature gradients bit-identical to the one-hot product', (name) => {
      const f = features(shape, 11);
      const t = tripletIndices(tf.tensor1d(labels, 'int32'), { seed: 5 });
      const build =
        name === 'gatherJointPairs'
          ? (x: tf.Tensor4D) => gatherJointPairs(x, t)
          : (x: tf.Tensor4D) => {
              const p = gatherPairs(x, t);
              return tf.concat([p.positive, p.negative]);
            };
      const [, h, w, c] = shape;
      const dy = features([2 * n, h, w, 2 * c], 23);
      const fused = valueAndGrad(build, f, dy);
      const plain = composed(() => valueAndGrad(build, f, dy));
      expect(differing(fused.value, plain.value)).toBe(0);
      expect(differing(fused.grad, plain.grad)).toBe(0);
      tf.dispose([f, dy, t.anchor, t.positive, t.negative, t.negativeLabels]);
    });
  });

  it('runs the kernel pair, not the product and the transposes, where the backend has it', async () => {
    const f = tf.randomNormal([6, 2, 1, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const t = {
      anchor: tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32'),
      positive: tf.tensor1d([1, 0, 3, 2, 5, 4], 'int32'),
      negative: tf.tensor1d([2, 3, 4, 5, 0, 1], 'int32'),
    };
    const names = async (fn: () => tf.Tensor) =>
      (await tf.profile(() => fn())).kernelNames as string[];
    const grad = () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.square(gatherJointPairs(x as tf.Tensor4D, t))))(f);
    const fused = await names(grad);
    expect(fused).toContain('RelkdSelectRows');
    expect(fused).toContain('RelkdSelectRowsGrad');
    expect(fused).not.toContain('BatchMatMul');
    expect(fused).not.toContain('Transpose');
    const plain = await composed(() => names(grad));
    expect(plain).toContain('BatchMatMul');
    expect(plain).toContain('Transpose');
    expect(plain).not.toContain('RelkdSelectRows');
    tf.dispose([f, t.anchor, t.positive, t.negative]);
  });

  it('keeps rows of zeros for indices outside [0, N) and leaks nothing', () => {
    const f = tf.tensor2d([1, -2, 3, -4, 5, -6], [3, 2]);
    const idx = tf.tensor1d([2, -1, 0, 3], 'int32');
    const y = selectRows(f, idx);
    expect(y.shape).toEqual([4, 1, 1, 2]);
    expect(Array.from(y.dataSync())).toEqual([5, -6, 0, 0, 1, -2, 0, 0]);
    // two groups of two rows, chunks of one value: [m, p, g, c] = f[idx[2g + m], p]
    const joint = selectRows(f, idx, { groups: 2, channels: 1 });
    expect(joint.shape).toEqual([2, 2, 2, 1]);
    expect(Array.from(joint.dataSync())).toEqual([5, 1, -6, -2, 0, 0, 0, 0]);
    tf.dispose(joint);
    const g = tf.grad((x: tf.Tensor) => tf.sum(selectRows(x as tf.Tensor2D, idx)))(f);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 0, 0, 1, 1]);
    expectNoLeak(() =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.square(selectRows(x as tf.Tensor2D, idx))))(f),
    );
    tf.dispose([f, idx, y, g]);
  });
});
