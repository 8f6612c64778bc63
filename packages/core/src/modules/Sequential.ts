import type * as tf from '@tensorflow/tfjs-core';
import { Module } from './Module';

/**
 * Applies modules in order. Children are addressed by index in weight paths (`0/kernel`, `1/gamma`).
 *
 * @example
 * ```ts
 * const mlp = new Sequential([
 *   new Dense({ inUnits: 32, outUnits: 64, seed: 1 }), new ReLU(), new Dense({ inUnits: 64, outUnits: 10, seed: 2 }),
 * ]);
 * mlp.apply(x, { training: true });
 * ```
 */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(layers: readonly Module[], name = 'Sequential') {
    super(name);
    this.layers = layers.map((m, i) => this.addModule(String(i), m));
  }

  protected forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.layers.reduce((h, m) => m.apply(h, { training }), x);
  }
}
