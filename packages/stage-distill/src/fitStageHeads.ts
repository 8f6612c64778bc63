import { crossEntropy, RelkdError, Rng } from '@relkd/core';
import { assertNumber } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { StageHeads } from './StageHeads';

/** Budget of {@link fitStageHeads}. */
export interface FitStageHeadsOptions {
  /** Passes over the data. Default `3`. */
  epochs?: number;
  /** Stop after this many optimizer steps, even mid-epoch. Default: no limit. */
  maxSteps?: number;
  /** Rows per step. Default `64`. */
  batchSize?: number;
  /** Adam learning rate. Default `1e-3`. */
  learningRate?: number;
  /** Seed of the per-epoch shuffling (epoch `e` uses `seed + e`). Default `0`. */
  seed?: number;
}

/** What {@link fitStageHeads} returns (read back once, after fitting). */
export interface FitStageHeadsResult {
  /** Accuracy of each head on the fitting data, inference mode, after fitting (K − 1 entries). */
  accuracy: number[];
  /** Mean CE of each head on the fitting data, inference mode, after fitting. */
  loss: number[];
  /** Optimizer steps taken. */
  steps: number;
}

/** The defaults of {@link FitStageHeadsOptions}. */
export const FIT_STAGE_HEADS_DEFAULTS = {
  epochs: 3,
  maxSteps: Number.POSITIVE_INFINITY,
  batchSize: 64,
  learningRate: 1e-3,
  seed: 0,
} as const;

/**
 * Validates {@link FitStageHeadsOptions} and fills the defaults (no tensors).
 *
 * @throws RelkdError `INVALID_OPTION`
 * @example
 * ```ts
 * resolveFitStageHeadsOptions({ epochs: 2 }); // { epochs: 2, batchSize: 64, learningRate: 0.001, ... }
 * ```
 */
export function resolveFitStageHeadsOptions(
  options: FitStageHeadsOptions = {},
  prefix = 'options',
): Required<FitStageHeadsOptions> {
  if (options === null || typeof options !== 'object') {
    throw new RelkdError('INVALID_OPTION', `\`${prefix}\` must be an object, got ${options}.`);
  }
  const known = new Set(Object.keys(FIT_STAGE_HEADS_DEFAULTS));
  for (const k of Object.keys(options)) {
    if (!known.has(k)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`${prefix}.${k}\` is not an option; use ${[...known].join(', ')}.`,
        { name: `${prefix}.${k}` },
      );
    }
  }
  const r: Required<FitStageHeadsOptions> = { ...FIT_STAGE_HEADS_DEFAULTS };
  for (const [key, v] of Object.entries(options)) {
    if (v !== undefined) (r as Record<string, unknown>)[key] = v;
  }
  assertNumber(r.epochs, `${prefix}.epochs`, { min: 1, integer: true });
  if (r.maxSteps !== Number.POSITIVE_INFINITY)
    assertNumber(r.maxSteps, `${prefix}.maxSteps`, { min: 1, integer: true });
  assertNumber(r.batchSize, `${prefix}.batchSize`, { min: 1, integer: true });
  assertNumber(r.learningRate, `${prefix}.learningRate`, { min: 0, exclusiveMin: true });
  assertNumber(r.seed, `${prefix}.seed`, { integer: true });
  return r;
}

/** `[B]` int32 labels from `[B]` integers or `[B, C]` one-hot rows. */
function labelsOf(y: tf.Tensor): tf.Tensor1D {
  if (y.rank === 2) return tf.cast(tf.argMax(y, 1), 'int32') as tf.Tensor1D;
  return (y.dtype === 'int32' ? y.clone() : tf.cast(y, 'int32')) as tf.Tensor1D;
}

/**
 * Fits stage heads with cross-entropy on the stage features of a **frozen** network (MTKD-SSR's
 * teacher stage heads; relkd's procedure, the paper's abstract does not give one):
 *
 * ```
 * for each epoch (seeded shuffle), for each batch (x_b, y_b):
 *   F_1..F_K = features(x_b)                  outside the gradient tape (constants)
 *   minimise Σ_{k<K} CE(head_k(F_k, training), y_b)   with Adam(learningRate) over the heads only
 * ```
 *
 * `features(x)` returns the network's stage feature maps for a batch (NHWC, shallow to deep, K or
 * K − 1 of them), e.g. a frozen teacher in inference mode; only the heads' variables change.
 * `data.y` is `[N]` integer labels or `[N, C]` one-hot. After fitting, each head's accuracy and
 * mean CE on `data` are computed in inference mode and read back once.
 *
 * @throws RelkdError `INVALID_OPTION` (bad options or data), `SHAPE_MISMATCH` (rows of x and y)
 * @example
 * ```ts
 * const { teacher: heads } = buildStageModules({ studentStages, teacherStages, numClasses: 10,
 *   teacherHeads: true });
 * const { accuracy } = await fitStageHeads(heads!, { x, y },
 *   (xb) => teacherStageFeatures(xb), { epochs: 3, batchSize: 64, learningRate: 1e-3 });
 * ```
 */
export async function fitStageHeads(
  heads: StageHeads,
  data: { x: tf.Tensor; y: tf.Tensor },
  features: (x: tf.Tensor) => tf.Tensor[],
  options: FitStageHeadsOptions = {},
): Promise<FitStageHeadsResult> {
  if (!(heads instanceof StageHeads)) {
    throw new RelkdError('INVALID_OPTION', '`heads` must be a StageHeads module.');
  }
  if (typeof features !== 'function') {
    throw new RelkdError('INVALID_OPTION', '`features` must be a function x -> stage features.');
  }
  const { epochs, maxSteps, batchSize, learningRate, seed } = resolveFitStageHeadsOptions(options);
  const { x, y } = data ?? ({} as { x: tf.Tensor; y: tf.Tensor });
  if (!(x instanceof tf.Tensor) || !(y instanceof tf.Tensor)) {
    throw new RelkdError('INVALID_OPTION', '`data` must be { x, y } tensors.');
  }
  if (y.rank !== 1 && y.rank !== 2) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`data.y\` must be [N] integer labels or [N, C] one-hot, got rank ${y.rank}.`,
    );
  }
  const n = x.shape[0];
  if (n !== y.shape[0]) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `\`data.x\` has ${n} rows but \`data.y\` has ${y.shape[0]}.`,
    );
  }
  if (n === 0) throw new RelkdError('INVALID_OPTION', '`data` has no rows.');
  const k = heads.heads.length;
  if (k === 0) return { accuracy: [], loss: [], steps: 0 };

  const vars = heads.trainableVariables;
  const optimizer = tf.train.adam(learningRate);
  const batch = (idx: number[]): [tf.Tensor[], tf.Tensor1D] =>
    tf.tidy(() => {
      const it = tf.tensor1d(idx, 'int32');
      const yb = labelsOf(tf.gather(y, it));
      // The frozen network runs here, outside optimizer.minimize: its outputs are constants.
      const feats = features(tf.gather(x, it)).slice(0, k);
      return [feats, yb] as [tf.Tensor[], tf.Tensor1D];
    });
  let steps = 0;
  try {
    for (let e = 0; e < epochs && steps < maxSteps; e++) {
      const order = new Rng(seed + e).permutation(n);
      for (let i = 0; i < n && steps < maxSteps; i += batchSize) {
        const [feats, yb] = batch(order.slice(i, i + batchSize));
        try {
          tf.tidy(() => {
            optimizer.minimize(
              () => {
                const z = heads.apply(feats, { training: true });
                return tf.addN(z.map((zk) => crossEntropy(zk as tf.Tensor2D, yb))) as tf.Scalar;
              },
              false,
              vars,
            );
          });
        } finally {
          tf.dispose([feats, yb]);
        }
        steps++;
        // Let other work (progress output, the event loop) run between steps.
        if (steps % 16 === 0) await Promise.resolve();
      }
    }
  } finally {
    optimizer.dispose();
  }

  // Inference-mode accuracy and CE of every head on the fitting data, read back once.
  let sums = tf.zeros([2, k]);
  for (let i = 0; i < n; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - i) }, (_, j) => i + j);
    const [feats, yb] = batch(idx);
    const next = tf.tidy(() => {
      const z = heads.apply(feats, { training: false });
      const correct = z.map((zk) => tf.sum(tf.cast(tf.equal(tf.argMax(zk, 1), yb), 'float32')));
      const ce = z.map((zk) => tf.mul(crossEntropy(zk as tf.Tensor2D, yb), idx.length));
      return tf.add(sums, tf.stack([tf.stack(correct), tf.stack(ce)]));
    });
    tf.dispose([feats, yb, sums]);
    sums = next;
  }
  const values = await sums.data();
  sums.dispose();
  return {
    accuracy: Array.from({ length: k }, (_, j) => values[j]! / n),
    loss: Array.from({ length: k }, (_, j) => values[k + j]! / n),
    steps,
  };
}
