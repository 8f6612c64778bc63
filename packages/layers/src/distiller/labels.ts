import { RelkdError } from '@relkd/core';
import { formatShape } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

// Label helpers of the Distiller: labels to int32 class indices, and the once-per-fit check.

/** `[B]` labels (int32, or float holding integers) or `[B, C]` one-hot -> `[B]` int32 class indices. */
export function toLabelTensor(y: tf.Tensor): tf.Tensor1D {
  if (y.rank === 2) return tf.argMax(y, 1) as tf.Tensor1D;
  if (y.rank !== 1) {
    throw new RelkdError(
      'RANK_MISMATCH',
      `Distiller: labels must be [B] integers or [B, C] one-hot, got rank ${y.rank}.`,
    );
  }
  return (y.dtype === 'int32' ? y.clone() : tf.cast(y, 'int32')) as tf.Tensor1D;
}

/**
 * Checks labels once (one read): `[N]` integers (int32, or float32 holding integers) in
 * `[0, numClasses)`, or `[N, numClasses]` one-hot rows. Returns the class indices.
 */
export async function checkLabels(
  y: tf.Tensor,
  numClasses: number,
  name: string,
): Promise<Int32Array> {
  if (y.dtype !== 'int32' && y.dtype !== 'float32') {
    throw new RelkdError(
      'DTYPE_MISMATCH',
      `Distiller.fit: ${name} must be int32 class indices or float32 one-hot rows, got ${y.dtype}.`,
      { name, dtype: y.dtype },
    );
  }
  if (y.rank !== 1 && y.rank !== 2) {
    throw new RelkdError(
      'RANK_MISMATCH',
      `Distiller.fit: ${name} must be [N] class indices or [N, ${numClasses}] one-hot rows, got shape ${formatShape(y.shape)}.`,
      { name, shape: y.shape },
    );
  }
  if (y.rank === 2 && y.shape[1] !== numClasses) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `Distiller.fit: ${name} has one-hot rows of width ${y.shape[1]} but the student outputs ${numClasses} classes.`,
      { name, shape: y.shape, numClasses },
    );
  }
  const values = await y.data();
  const n = y.shape[0]!;
  const out = new Int32Array(n);
  const bad = (i: number, what: string): never => {
    throw new RelkdError(
      'LABEL_OUT_OF_RANGE',
      `Distiller.fit: ${name}[${i}] ${what} (the student outputs ${numClasses} classes). Fix the labels, or pass validate: 'none' to skip this check.`,
      { name, index: i, numClasses },
    );
  };
  if (y.rank === 1) {
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= numClasses)
        bad(i, `= ${v} is not a class index in [0, ${numClasses})`);
      out[i] = v;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    let hot = -1;
    for (let c = 0; c < numClasses; c++) {
      const v = values[i * numClasses + c]!;
      if (v === 1 && hot === -1) hot = c;
      else if (v !== 0) {
        hot = -2;
        break;
      }
    }
    if (hot < 0) bad(i, 'is not a one-hot row (exactly one 1, the rest 0)');
    out[i] = hot;
  }
  return out;
}

/** `[N]` int labels of a whole tensor data set (`[N]` ints or `[N, C]` one-hot), one read. */
export async function readAllLabels(y: tf.Tensor): Promise<Int32Array> {
  const t = toLabelTensor(y);
  try {
    return Int32Array.from(await t.data());
  } finally {
    t.dispose();
  }
}
