import type { TensorInput } from '@relkd/core';
import { assertNumber, assertSameShape, toTensor, withoutGradient } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Unreliable-edge pruning by clipping (`uep: { kind: 'clip', delta }`): an elementwise float32
 * 0/1 mask that is 0 where `|E^s − E^t| > delta` and 1 elsewhere, computed without gradient.
 * `studentEdges` and `teacherEdges` must have the same shape (e.g. `[N, N, C]`); `delta > 0`.
 *
 * @example
 * ```ts
 * clipMask(tf.tensor1d([0, 0.5]), tf.tensor1d([0.1, -0.5]), 0.2); // [1, 0]
 * ```
 */
export function clipMask(
  studentEdges: TensorInput,
  teacherEdges: TensorInput,
  delta: number,
): tf.Tensor {
  assertNumber(delta, 'delta', { min: 0, exclusiveMin: true });
  return tf.tidy(() => {
    const s = toTensor(studentEdges, 'studentEdges');
    const t = toTensor(teacherEdges, 'teacherEdges');
    assertSameShape(s, t, 'studentEdges', 'teacherEdges');
    return withoutGradient([s, t], (a, b) =>
      tf.cast(tf.lessEqual(tf.abs(tf.sub(a!, b!)), delta), 'float32'),
    );
  });
}
