import * as tf from '@tensorflow/tfjs-core';
import { GRADIENT_CONFIGS } from './generated/gradientConfigs';

/**
 * Registers tfjs-core's gradient functions for every kernel that has none yet (gradients the
 * application already registered, e.g. through `@tensorflow/tfjs`, are left untouched, so no
 * "overriding" warnings). Idempotent. Returns how many gradients it added.
 *
 * `useBackend` calls it; call it yourself only if you select backends with `tf.setBackend`.
 *
 * @example
 * ```ts
 * registerGradients();
 * const g = tf.grad((x) => tf.sum(tf.exp(x)))(tf.tensor1d([0, 1]));
 * ```
 */
export function registerGradients(): number {
  let added = 0;
  for (const config of GRADIENT_CONFIGS) {
    if (tf.getGradient(config.kernelName) === undefined) {
      tf.registerGradient(config);
      added++;
    }
  }
  return added;
}
