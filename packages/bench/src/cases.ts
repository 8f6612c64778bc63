import { kdLoss, Rng } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';

/** A benchmark case: a loss at fixed shapes, forward and forward + backward. */
export interface BenchCase {
  /** Loss name as in the report (`kd`, `vrm`, ...). */
  loss: string;
  /** Shape label (`cifar100`, `imagenet`, `B=128,C=100`). */
  shape: string;
  B: number;
  C: number;
  forward: () => tf.TensorContainer;
  backward: () => tf.TensorContainer;
  dispose: () => void;
}

/** A factory builds the inputs of one loss at `(B, C)` and returns its case. */
export type CaseFactory = (B: number, C: number, shape: string) => BenchCase;

/** Seeded standard-normal logits scaled like a trained network's (std 3). */
export function logits(B: number, C: number, seed: number, scale = 3): tf.Tensor2D {
  return tf.mul(tf.randomNormal([B, C], 0, 1, 'float32', seed), scale) as tf.Tensor2D;
}

/** Seeded int32 labels in [0, C). */
export function labels(B: number, C: number, seed: number): tf.Tensor1D {
  const rng = new Rng(seed);
  return tf.tensor1d(
    Array.from({ length: B }, () => rng.int(C)),
    'int32',
  );
}

/** Builds a case from inputs, a loss of the student tensors, and the student tensors to differentiate. */
export function makeCase(
  loss: string,
  shape: string,
  B: number,
  C: number,
  students: tf.Tensor[],
  constants: tf.Tensor[],
  f: (...students: tf.Tensor[]) => tf.Scalar,
): BenchCase {
  const g = tf.grads((...xs: tf.Tensor[]) => f(...xs));
  return {
    loss,
    shape,
    B,
    C,
    forward: () => f(...students),
    backward: () => g(students),
    dispose: () => tf.dispose([...students, ...constants]),
  };
}

/** Hinton KD (`@relkd/core`). */
export const kdCase: CaseFactory = (B, C, shape) => {
  const s = logits(B, C, 1);
  const t = logits(B, C, 2);
  return makeCase('kd', shape, B, C, [s], [t], (x) => kdLoss(x as tf.Tensor2D, t));
};
