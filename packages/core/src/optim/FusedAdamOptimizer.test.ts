import { BACKENDS, usePlainBackend } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUSED_ADAM } from '../kernels/fusedAdamKernel';
import { FusedAdamOptimizer } from './FusedAdamOptimizer';

describe.each(BACKENDS)('FusedAdamOptimizer without a RelkdAdam kernel (plain %s)', (backend) => {
  beforeAll(async () => {
    await usePlainBackend(backend);
  });

  it('is a tf.AdamOptimizer with tf.train.adam defaults and runs its composed ops', async () => {
    expect(tf.getKernel(FUSED_ADAM, backend)).toBeUndefined();
    const optimizer = new FusedAdamOptimizer();
    expect(optimizer).toBeInstanceOf(tf.AdamOptimizer);
    expect(optimizer.getConfig()).toEqual(tf.train.adam().getConfig());
    const run = async (opt: tf.AdamOptimizer, name: string) => {
      const w = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25], [2, 2]), true, name);
      for (let i = 0; i < 5; i++) opt.minimize(() => tf.sum(tf.sin(tf.mul(w, 3))) as tf.Scalar);
      const out = Array.from(w.dataSync());
      w.dispose();
      return out;
    };
    const fused = await run(optimizer, `fused_${backend}`);
    const reference = tf.train.adam();
    expect(fused).toEqual(await run(reference, `ref_${backend}`));
    optimizer.dispose();
    reference.dispose();
  });
});
