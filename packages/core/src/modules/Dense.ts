import * as tf from '@tensorflow/tfjs-core';
import { assertNumber } from '../validation/validation';
import { checkModuleInput } from './checkInput';
import { type DenseInit, uniformInit } from './initializers';
import { Module } from './Module';

/** Options of {@link Dense}. */
export interface DenseOptions {
  inUnits: number;
  outUnits: number;
  /** Add a bias (initialised to 0). Default `true`. */
  useBias?: boolean;
  /** Kernel initialiser. Default `'glorotUniform'`. */
  init?: DenseInit;
  /** Seed of the initialiser. Default `0`. */
  seed?: number;
  name?: string;
}

/**
 * Fully connected layer `y = x W + b`: `[B, inUnits] -> [B, outUnits]`, `W [inUnits, outUnits]`.
 * Glorot-uniform (`sqrt(6/(in+out))`) or He-uniform (`sqrt(6/in)`) kernel, zero bias, seeded.
 *
 * @example
 * ```ts
 * const fc = new Dense({ inUnits: 64, outUnits: 10, seed: 1 });
 * fc.apply(tf.zeros([8, 64])).shape; // [8, 10]
 * ```
 */
export class Dense extends Module {
  readonly inUnits: number;
  readonly outUnits: number;
  private readonly kernel: tf.Variable;
  private readonly bias: tf.Variable | null;

  constructor(options: DenseOptions) {
    super(options.name ?? 'Dense');
    const { inUnits, outUnits, useBias = true, init = 'glorotUniform', seed = 0 } = options;
    assertNumber(inUnits, 'inUnits', { min: 1, integer: true });
    assertNumber(outUnits, 'outUnits', { min: 1, integer: true });
    this.inUnits = inUnits;
    this.outUnits = outUnits;
    const limit =
      init === 'heUniform' ? Math.sqrt(6 / inUnits) : Math.sqrt(6 / (inUnits + outUnits));
    this.kernel = this.addWeight('kernel', uniformInit([inUnits, outUnits], limit, seed));
    this.bias = useBias ? this.addWeight('bias', tf.zeros([outUnits])) : null;
  }

  protected forward(x: tf.Tensor): tf.Tensor {
    checkModuleInput(x, 2, this.inUnits, this.name, '[B, inUnits]');
    const y = tf.matMul(x as tf.Tensor2D, this.kernel as tf.Tensor2D);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
