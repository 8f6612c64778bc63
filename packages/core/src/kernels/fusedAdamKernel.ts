/**
 * Kernel name of the fused Adam update of one variable. Contract for a backend that registers it:
 * inputs `value`, `m`, `v`, `gradient` (float32, one shape) and `accBeta1`, `accBeta2` (float32
 * scalars `β₁ᵗ`, `β₂ᵗ` at step `t`, as tfjs' `AdamOptimizer` keeps them); attributes
 * `learningRate`, `beta1`, `beta2`, `epsilon`; outputs `[value', m', v']` computed element-wise in
 * float32 with tfjs' `AdamOptimizer` operation order, each operation rounded to float32:
 * `m' = m·β₁ + g·(1 − β₁)`, `v' = v·β₂ + g²·(1 − β₂)`,
 * `value' = (m'/(1 − β₁ᵗ)) / (√(v'/(1 − β₂ᵗ)) + ε) · (−lr) + value`, so that the result is
 * bit-identical to `tf.train.adam` on an IEEE float32 backend. `FusedAdamOptimizer` runs it
 * when `tf.getKernel(FUSED_ADAM, tf.getBackend())` finds one (@relkd/backend registers it for cpu
 * and wasm); otherwise it runs `tf.train.adam`'s composed ops. Internal (`@relkd/core/internal`).
 */
export const FUSED_ADAM = 'RelkdAdam';
