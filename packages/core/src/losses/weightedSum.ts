import * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { assertNumber, formatShape } from '../validation/validation';

/** The result of {@link weightedSum}: the weighted total next to the unweighted parts. */
export type WeightedSum<K extends string> = { total: tf.Scalar } & Record<K, tf.Scalar>;

/**
 * Composes several scalar losses: `total = Σ_k weights[k] · parts[k]`, returned next to the
 * unweighted parts (`{ total, ...parts }`) so they can be logged and re-weighted. A part without
 * a weight counts with weight 1; a weight naming no part is an error (it is usually a typo).
 * The parts are returned as given (not cloned); `total` is a new tensor.
 *
 * Like torchdistill's `WeightedSumLoss` and Keras 3's `distillation_loss_weights`.
 *
 * @throws RelkdError `INVALID_OPTION` (no parts, a part named `total`, unknown weight key,
 *   non-finite weight, non-scalar or disposed part), `DTYPE_MISMATCH` (a part that is not float32)
 * @example
 * ```ts
 * const { total } = weightedSum({ ce: crossEntropy(s, y), kd: kdLoss(s, t) }, { ce: 0.1, kd: 0.9 });
 * ```
 */
export function weightedSum<K extends string>(
  parts: Record<K, tf.Scalar>,
  weights: Partial<Record<K, number>> = {},
): WeightedSum<K> {
  const names = Object.keys(parts) as K[];
  if (names.length === 0) {
    throw new RelkdError('INVALID_OPTION', '`parts` must name at least one scalar loss.');
  }
  if ((names as string[]).includes('total')) {
    throw new RelkdError(
      'INVALID_OPTION',
      "`parts` must not contain a part named 'total' (the result's `total` would hide it); rename it.",
      { parts: names },
    );
  }
  for (const key of Object.keys(weights)) {
    if (!Object.hasOwn(parts, key)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`weights.${key}\` names no part; the parts are ${names.map((n) => `'${n}'`).join(', ')}.`,
        { key, parts: names },
      );
    }
    assertNumber(weights[key as K], `weights.${key}`);
  }
  for (const name of names) {
    const part: unknown = parts[name];
    if (!(part instanceof tf.Tensor) || part.rank !== 0 || part.isDisposed) {
      const got =
        part instanceof tf.Tensor
          ? part.isDisposed
            ? 'a disposed tensor'
            : `shape ${formatShape(part.shape)}`
          : typeof part;
      throw new RelkdError(
        'INVALID_OPTION',
        `\`parts.${name}\` must be a live scalar tensor, got ${got}.`,
        { name },
      );
    }
    if (part.dtype !== 'float32') {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `\`parts.${name}\` must be float32, got ${part.dtype}.`,
        { name, expected: 'float32', actual: part.dtype },
      );
    }
  }
  const total = tf.tidy(() =>
    tf.addN(names.map((name) => tf.mul(parts[name], weights[name] ?? 1))),
  ) as tf.Scalar;
  return { ...parts, total } as WeightedSum<K>;
}
