import { RelkdError, type TensorInput } from '@relkd/core';
import { assertNumber, toLogits, withoutGradient } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { isEdgeCount, isEdgeMask } from './isEdgeMask';
import { checkIsEdges, type IsEdges } from './options';

/** Options of {@link jointEntropyMask}. */
export interface JointEntropyMaskOptions {
  /** Fraction of the REP-kept inter-sample edges to drop, `0 < ratio <= 1`. Required. */
  ratio: number;
  /** Which inter-sample edges REP keeps. Default `'cross'`. */
  isEdges?: IsEdges;
}

/**
 * Unreliable-edge pruning by joint entropy (`uep: { kind: 'jointEntropy', ratio }`).
 * `studentLogits` are the student's RAW logits stacked by view, `[2B, C]` (`[Ss; Sv]`).
 * With `H_m` the entropy of `softmax(studentLogits[m])`, the `floor(ratio · E)` REP-kept edges
 * `(m, n)` with the largest `H_m + H_n` are dropped (`E` = number of REP-kept edges, see
 * {@link isEdgeCount}). Returns the `[2B, 2B]` float32 0/1 keep mask (REP ∧ not dropped),
 * computed without gradient and without reading data back (`tf.topk` + `tf.scatterND`). Ties
 * are broken by the backend's `topk` (on cpu and wasm: the lower flat index is dropped first).
 *
 * @example
 * ```ts
 * const keep = jointEntropyMask(tf.concat([sReal, sVirtual]), { ratio: 0.25 });
 * ```
 */
export function jointEntropyMask(
  studentLogits: TensorInput,
  options: JointEntropyMaskOptions,
): tf.Tensor2D {
  const { ratio, isEdges = 'cross' } = options ?? ({} as JointEntropyMaskOptions);
  assertNumber(ratio, 'options.ratio', { min: 0, exclusiveMin: true, max: 1 });
  checkIsEdges(isEdges);
  return tf.tidy(() => {
    const y = toLogits(studentLogits, 'studentLogits');
    const n = y.shape[0];
    if (n % 2 !== 0) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`studentLogits\` must stack the real and the virtual view ([2B, C]), got ${n} rows (odd).`,
        { name: 'studentLogits', shape: y.shape },
      );
    }
    return jointEntropyKeep(y, n / 2, ratio, isEdges);
  });
}

/** @internal Keep mask `[2B, 2B]` from raw stacked student logits (no validation). */
export function jointEntropyKeep(
  y: tf.Tensor2D,
  batchSize: number,
  ratio: number,
  isEdges: IsEdges,
): tf.Tensor2D {
  const n = 2 * batchSize;
  const rep = isEdgeMask(batchSize, isEdges);
  const k = Math.floor(ratio * isEdgeCount(batchSize, isEdges));
  if (k === 0) return rep;
  const drop = withoutGradient([y], (x) => {
    const logp = tf.logSoftmax(x!);
    const h = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1));
    const scores = tf.add(tf.reshape(h, [n, 1]), tf.reshape(h, [1, n]));
    // Non-kept edges get -1 (< any joint entropy, which is >= 0), so top-k only picks kept ones.
    const masked = tf.sub(tf.mul(tf.add(scores, 1), rep), 1);
    const { indices } = tf.topk(tf.reshape(masked, [n * n]), k);
    return tf.reshape(tf.scatterND(tf.reshape(indices, [k, 1]), tf.ones([k]), [n * n]), [n, n]);
  });
  return tf.mul(rep, tf.sub(1, drop)) as tf.Tensor2D;
}
