import { RelkdError, type TensorInput } from '@relkd/core';
import { assertNonEmpty, assertRank, formatShape, toTensor } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The off-diagonal share of a square, non-negative matrix `M [C, C]`:
 *
 * ```
 * offDiagonalMass(M) = (Σ_ij M_ij − Σ_i M_ii) / Σ_ij M_ij        ∈ [0, 1]
 * ```
 *
 * How much of a class-correlation matrix ({@link classCorrelation}, any normalisation) or of a
 * {@link ClassCorrelationTracker}'s `matrix()` lies off the diagonal, i.e. how much class
 * correlation there is for the ICC mimic term to transfer beyond what KD already carries. `0` for
 * a diagonal matrix (one-hot predictions, the tracker's initial identity), `1 − 1/C` for uniform
 * predictions. For a tracker matrix (rows sum to 1) it equals `1 − trace(A)/C`, the mean
 * off-diagonal row mass. It is scale-free, so the normalisation of `G` does not matter, and a
 * whole data set is measured by summing `classCorrelation(z, { normalize: 'none' })` over the
 * batches (the raw Gram is additive) and measuring the sum. An all-zero matrix gives `0`.
 *
 * A relkd measurement helper (not from the paper). Runs on device, no CPU sync; the caller
 * disposes the returned scalar (read it with `await m.data()`).
 *
 * @param matrix `[C, C]` float32, entries `>= 0` (not checked: negative entries give a share
 *   outside `[0, 1]`).
 * @throws RelkdError `RANK_MISMATCH`, `SHAPE_MISMATCH` (not square), `DTYPE_MISMATCH`, `EMPTY_BATCH`
 * @example
 * ```ts
 * const g = classCorrelation(teacherLogits, { temperature: 4, normalize: 'none' });
 * const share = offDiagonalMass(g);          // share of G off the diagonal, in [0, 1]
 * console.log((await share.data())[0]);
 * tf.dispose([g, share]);
 * ```
 */
export function offDiagonalMass(matrix: tf.Tensor2D | TensorInput): tf.Scalar {
  return tf.tidy(() => {
    const m = toTensor(matrix, 'matrix', 'float');
    assertRank(m, 2, 'matrix', '[C, C]');
    assertNonEmpty(m, 'matrix');
    const [r, c] = m.shape as [number, number];
    if (r !== c) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`matrix\` must be square [C, C], got shape ${formatShape(m.shape)}.`,
        { name: 'matrix', expected: [r, r], actual: m.shape },
      );
    }
    const total = tf.sum(m);
    const diag = tf.sum(tf.mul(m, tf.eye(r)));
    return tf.div(tf.sub(total, diag), tf.maximum(total, 1e-30)) as tf.Scalar;
  });
}
