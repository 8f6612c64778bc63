import * as tf from '@tensorflow/tfjs-core';
import { FUSED_ADAM } from '../kernels/fusedAdamKernel';

/** What `applyGradients` receives: gradients by variable name, or a list of named gradients. */
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedGradient = { name: string; tensor: tf.Tensor };

/** The state tfjs' `AdamOptimizer` keeps (private fields, same names in tfjs-core 4.x). */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/**
 * `tf.train.adam` with one fused kernel per variable: a drop-in `tf.AdamOptimizer` (same
 * constructor, defaults `learningRate` 0.001, `beta1` 0.9, `beta2` 0.999, `epsilon` the backend's,
 * 1e-7 in float32; same state, `getWeights`/`setWeights` and serialization) whose update of each
 * variable is one `RelkdAdam` kernel instead of 14 element-wise kernels and 6 scalar
 * uploads:
 *
 * `m ← β₁·m + (1 − β₁)·g`, `v ← β₂·v + (1 − β₂)·g²`,
 * `θ ← θ − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)`.
 *
 * The kernel reproduces tfjs' float32 operation order, so parameters and moments are
 * bit-identical to `tf.train.adam`'s on the cpu and wasm backends. When the active backend has no
 * `RelkdAdam` kernel (@relkd/backend registers it for cpu and wasm; `useBackend` does that), it
 * runs `tf.train.adam`'s composed ops unchanged. `learningRate` may be changed between steps
 * (learning-rate schedules), as with `tf.AdamOptimizer`. The `Distiller` of @relkd/layers uses
 * `new FusedAdamOptimizer(1e-3)` when given no optimizer.
 *
 * @example
 * ```ts
 * const optimizer = new FusedAdamOptimizer(1e-3);
 * const w = tf.variable(tf.tensor1d([1, 2]));
 * optimizer.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
 * w.dispose();
 * optimizer.dispose();
 * ```
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (tf.getKernel(FUSED_ADAM, tf.getBackend()) === undefined) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const list = Array.isArray(variableGradients);
    const names = list ? variableGradients.map((g) => g.name) : Object.keys(variableGradients);
    const attrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name] as tf.Variable;
        // Slots by position, created like tf.AdamOptimizer's (so getWeights/setWeights agree).
        state.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        state.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = list
          ? (variableGradients as NamedGradient[])[i]?.tensor
          : (variableGradients as Record<string, tf.Tensor | undefined>)[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i].variable;
        const v = state.accumulatedSecondMoment[i].variable;
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(
            FUSED_ADAM,
            { value, m, v, gradient, accBeta1: state.accBeta1, accBeta2: state.accBeta2 },
            attrs,
          ) as tf.Tensor[];
        m.assign(newM as tf.Tensor);
        v.assign(newV as tf.Tensor);
        value.assign(newValue as tf.Tensor);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}
