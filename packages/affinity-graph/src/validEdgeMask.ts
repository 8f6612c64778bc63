import type { TensorInput } from '@relkd/core';
import { assertSameShape, toTensor, withoutGradient } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { checkEpsilon, EDGE_EPSILON } from './options';

/**
 * Validity mask: 1 where an edge norm exceeds `epsilon` in BOTH the student and the teacher
 * graph, else 0 (float32, same shape as the norms, no gradient). Invalid edges (duplicate rows,
 * constant columns, the diagonal) contribute nothing to the VRM loss and receive no gradient.
 * Default `epsilon = 1e-8`.
 *
 * @example
 * ```ts
 * validEdgeMask(tf.tensor1d([0, 1, 2]), tf.tensor1d([1, 0, 2])); // [0, 0, 1]
 * ```
 */
export function validEdgeMask(
  studentNorms: TensorInput,
  teacherNorms: TensorInput,
  options: { epsilon?: number } = {},
): tf.Tensor {
  const { epsilon = EDGE_EPSILON } = options;
  checkEpsilon(epsilon, 'options.epsilon');
  return tf.tidy(() => {
    const s = toTensor(studentNorms, 'studentNorms');
    const t = toTensor(teacherNorms, 'teacherNorms');
    assertSameShape(s, t, 'studentNorms', 'teacherNorms');
    return withoutGradient([s, t], (a, b) =>
      tf.cast(tf.logicalAnd(tf.greater(a!, epsilon), tf.greater(b!, epsilon)), 'float32'),
    );
  });
}
