import * as tf from '@tensorflow/tfjs-core';
import { globalAveragePool } from '../math/globalAveragePool';
import { assertRank } from '../validation/validation';
import { Module } from './Module';

/**
 * `max(x, 0)` as a parameter-free {@link Module} (for {@link Sequential}).
 * @example
 * ```ts
 * new ReLU().apply(tf.tensor1d([-1, 2])); // [0, 2]
 * ```
 */
export class ReLU extends Module {
  constructor(name = 'ReLU') {
    super(name);
  }
  protected forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/**
 * `1 / (1 + e^{−x})` as a parameter-free {@link Module}.
 * @example
 * ```ts
 * new Sigmoid().apply(tf.scalar(0)); // 0.5
 * ```
 */
export class Sigmoid extends Module {
  constructor(name = 'Sigmoid') {
    super(name);
  }
  protected forward(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
}

/**
 * Global average pooling as a {@link Module}: NHWC `[B, H, W, C] -> [B, C]`.
 * @example
 * ```ts
 * new GlobalAveragePool().apply(tf.ones([2, 4, 4, 8])).shape; // [2, 8]
 * ```
 */
export class GlobalAveragePool extends Module {
  constructor(name = 'GlobalAveragePool') {
    super(name);
  }
  protected forward(x: tf.Tensor): tf.Tensor {
    assertRank(x, 4, `${this.name} input`, 'NHWC [B, H, W, C]');
    return globalAveragePool(x as tf.Tensor4D);
  }
}
