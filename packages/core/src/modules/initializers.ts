import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random/Rng';

/** Weight initialisers used by the built-in modules; all seeded. */
export type DenseInit = 'glorotUniform' | 'heUniform';

/** He (Kaiming) normal with `std = sqrt(2 / fanOut)` (PyTorch `kaiming_normal_(mode='fan_out')`). */
export function heNormalFanOut(shape: number[], fanOut: number, seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const std = Math.sqrt(2 / fanOut);
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
  return tf.tensor(values, shape, 'float32');
}

/** Uniform in `[-limit, limit]`. Glorot: `limit = sqrt(6 / (fanIn + fanOut))`; He: `sqrt(6 / fanIn)`. */
export function uniformInit(shape: number[], limit: number, seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i++) values[i] = (2 * rng.next() - 1) * limit;
  return tf.tensor(values, shape, 'float32');
}

/** Derives the seed of the `index`-th sub-module from a parent seed (deterministic, well spread). */
export function childSeed(seed: number, index: number): number {
  return (Math.imul(seed | 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}
