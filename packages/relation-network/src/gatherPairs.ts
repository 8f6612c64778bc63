import { RelkdError, type TensorInput } from '@relkd/core';
import { assertNonEmpty, assertRank, formatShape, toTensor } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { type SelectRowsLayout, selectRows } from './selectRows';

/** The index tensors {@link gatherPairs} needs (a {@link TripletIndices} fits). */
export interface PairIndices {
  /** int32 `[B]` rows of `features` that are anchors. */
  anchor: tf.Tensor1D | TensorInput;
  /** int32 `[B]` rows paired with each anchor for the positive pair. */
  positive: tf.Tensor1D | TensorInput;
  /** int32 `[B]` rows paired with each anchor for the negative pair. */
  negative: tf.Tensor1D | TensorInput;
}

/** Relation-network inputs: NHWC `[B, H, W, 2C]`, anchor channels first. */
export type FeaturePairs = {
  positive: tf.Tensor4D;
  negative: tf.Tensor4D;
};

/**
 * Builds the relation-network inputs of one stage: for each triplet `b`,
 * `positive[b] = concat_channels(features[anchor[b]], features[positive[b]])` and
 * `negative[b] = concat_channels(features[anchor[b]], features[negative[b]])`, NHWC
 * `[N, H, W, C] -> [B, H, W, 2C]` (anchor first; the relation network is not symmetric).
 *
 * Rows are selected as the one-hot matrix product `oneHot(idx, N) · features` (not `tf.gather`),
 * so the gradient to the features is `oneHot(idx, N)ᵀ · dy` and exists on every backend. Where
 * the backend has @relkd/backend's `RelkdSelectRows` kernel pair (cpu, wasm) the product runs as a
 * row copy and its gradient as a segment sum with the same float32 additions in the same order
 * (bit-identical); elsewhere the product itself runs. The kernel count does not depend on B or N.
 * Indices are data, never read back; an index outside `[0, N)` selects an all-zero row
 * (tfjs `oneHot` semantics), so keep them in range (as {@link tripletIndices} does). Features
 * must be finite: through the product a non-finite value in any row spreads NaN to every pair
 * (`0 · ∞`).
 *
 * @param features float32 NHWC `[N, H, W, C]` stage features of the batch (gradients flow back).
 * @param indices int32 `[B]` `anchor`, `positive`, `negative`.
 * @throws RelkdError `RANK_MISMATCH`, `DTYPE_MISMATCH`, `SHAPE_MISMATCH`, `EMPTY_BATCH`
 * @example
 * ```ts
 * const t = tripletIndices(labels, { seed: step });
 * const { positive, negative } = gatherPairs(stage1Features, t); // [B, H, W, 2C] each
 * ```
 */
export function gatherPairs(
  features: tf.Tensor4D | TensorInput,
  indices: PairIndices,
): FeaturePairs {
  checkIndicesObject(indices);
  return tf.tidy(() => {
    const { f, a, p, n } = pairInputs(features, indices);
    const [, h, w, c] = f.shape as [number, number, number, number];
    const b = a.shape[0];
    // one row selection (a one-hot product) picks all three index sets: [3B, N] · [N, HWC]
    const picked = tf.reshape(pickRows(f, [a, p, n]), [3, b, h, w, c]);
    const [anchor, pos, neg] = tf.unstack(picked) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    return {
      positive: tf.concat([anchor, pos], 3) as tf.Tensor4D,
      negative: tf.concat([anchor, neg], 3) as tf.Tensor4D,
    };
  });
}

/**
 * The joint pair batch of one stage, `concat([positive, negative])` of {@link gatherPairs}
 * (NHWC `[2B, H, W, 2C]`: the B positive pairs, then the B negative pairs, anchor channels
 * first), built without the channel concatenations: one one-hot matrix product selects
 * `[anchor; anchor; positive; negative]` (`[4B, N] · [N, HWC]`) and a transpose of
 * `[2, 2B, HW, C]` to `[2B, HW, 2, C]` puts each pair's two images side by side on the channel
 * axis (where the backend has @relkd/backend's `RelkdSelectRows` kernel pair, the row copy writes
 * that layout directly and the segment-sum gradient reads it: no transposes). Same values as
 * `gatherPairs` + `concat` (copies), and the same gradient, bit for bit, with fewer kernels
 * forward and backward. Internal: what `relationStages` runs with
 * `jointBatch: true`; same inputs and errors as {@link gatherPairs}.
 */
export function gatherJointPairs(
  features: tf.Tensor4D | TensorInput,
  indices: PairIndices,
): tf.Tensor4D {
  checkIndicesObject(indices);
  return tf.tidy(() => {
    const { f, a, p, n } = pairInputs(features, indices);
    const [, h, w, c] = f.shape as [number, number, number, number];
    const b = a.shape[0];
    // [2B, HW, 2, C]: the transpose of [2, 2B, HW, C] done by the selection itself
    const picked = pickRows(f, [a, a, p, n], { groups: 2, channels: c });
    return tf.reshape(picked, [2 * b, h, w, 2 * c]) as tf.Tensor4D;
  });
}

/**
 * The rows of `f` (flattened to `[N, HWC]`) at the concatenated index sets, in order, as
 * {@link selectRows} lays them out: the one-hot `[ΣB, N] · [N, HWC]` product, run as a row copy
 * and segment-sum gradient where the backend has the kernels.
 */
function pickRows(f: tf.Tensor4D, order: tf.Tensor1D[], layout?: SelectRowsLayout): tf.Tensor4D {
  const [rows, h, w, c] = f.shape as [number, number, number, number];
  return selectRows(tf.reshape(f, [rows, h * w * c]) as tf.Tensor2D, tf.concat(order), layout);
}

function checkIndicesObject(indices: PairIndices): void {
  if (indices == null || typeof indices !== 'object') {
    throw new RelkdError(
      'INVALID_OPTION',
      '`indices` must be an object with `anchor`, `positive` and `negative` int32 [B] tensors.',
    );
  }
}

/** The checked features and index tensors of a pair gather (inside the caller's tidy). */
function pairInputs(
  features: tf.Tensor4D | TensorInput,
  indices: PairIndices,
): { f: tf.Tensor4D; a: tf.Tensor1D; p: tf.Tensor1D; n: tf.Tensor1D } {
  const f = toTensor(features, 'features');
  assertRank(f, 4, 'features', 'NHWC [N, H, W, C]');
  assertNonEmpty(f, 'features');
  const a = toIndex(indices.anchor, 'indices.anchor');
  const p = toIndex(indices.positive, 'indices.positive');
  const n = toIndex(indices.negative, 'indices.negative');
  for (const [t, name] of [
    [p, 'indices.positive'],
    [n, 'indices.negative'],
  ] as const) {
    if (t.shape[0] !== a.shape[0]) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`${name}\` must have the shape of \`indices.anchor\` ${formatShape(a.shape)}, got ${formatShape(t.shape)}.`,
        { name, expected: a.shape, actual: t.shape },
      );
    }
  }
  return { f: f as tf.Tensor4D, a, p, n };
}

function toIndex(x: tf.Tensor1D | TensorInput, name: string): tf.Tensor1D {
  const t = toTensor(x, name, 'int');
  assertRank(t, 1, name, '[B] int32 indices');
  assertNonEmpty(t, name);
  return t as tf.Tensor1D;
}
