import { RelkdError } from '@relkd/core';
import { assertNumber, formatShape } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { OfflineTeacherDataInfo, OfflineTeacherSource } from './offlineTeacher';
import { type TapOutput, tap } from './tap';

const DEFAULT_BATCH_SIZE = 64;

/** Options of {@link cacheTeacherOutputs}. */
export interface CacheTeacherOutputsOptions {
  /** Rows per teacher forward pass while filling the cache. Default 64. */
  batchSize?: number;
  /**
   * Layer names (as for `tap`) whose outputs are cached too, served as `teacher.features[name]`
   * to custom terms. Default none. (Recipes that tap teacher layers, such as MTKD-SSR, cannot use
   * an offline teacher: the Distiller refuses `taps.teacher` with one.)
   */
  features?: readonly string[];
}

/** What {@link cacheTeacherOutputs} returns: an offline teacher held in memory. */
export interface CachedTeacherOutputs extends OfflineTeacherSource {
  /** `[N, C]` teacher logits of every row of `x`, in row order (owned by the cache). */
  readonly logits: tf.Tensor2D;
  /** The cached layer outputs `[N, ...]` by name (owned by the cache). */
  readonly features: Readonly<Record<string, tf.Tensor>>;
  /** Frees the cached tensors; the cache cannot be used afterwards (`INVALID_OPTION`). Idempotent. */
  dispose(): void;
}

/**
 * Runs a tfjs teacher once over every row of the training images `x` (inference mode, in batches
 * of `batchSize`) and keeps its logits (and the `features` layers' outputs) in memory, as an
 * offline teacher (`OfflineTeacherSource`) to pass to `Distiller` as `teacher`: each step then
 * gathers its rows' outputs instead of running the teacher, so a KD step costs about what a CE
 * step costs (the teacher's forward pass happens once, not once per epoch). A teacher in inference
 * mode treats every row on its own, so the outputs are the live teacher's (the student trains the
 * same way, to float32 rounding). Works for what works with an offline teacher: recipes that run
 * the teacher on the batch's own images (`kd`, `icc`, `stkd` with `targetMode:
 * 'mixedTeacherSoft'`); VRM's views and STKD's `'teacherOnMixed'` are refused at the first step.
 *
 * Fit with the same tensor data `{ x, y }` (rows are matched by index: `fit` checks the row count),
 * or call `stepAsync(x, y, rows)` with each image's row in `x`. Memory: `N · C` floats for the
 * logits, plus each cached feature map.
 *
 * @param teacher the trained teacher (a `tf.LayersModel` returning logits).
 * @param x the training images, `[N, ...]` the teacher's input shape (NHWC for images).
 * @param options `batchSize` (64), `features` (none).
 * @throws RelkdError `INVALID_OPTION` (not a model or tensor, bad options), `EMPTY_BATCH` (no
 *   rows), `SHAPE_MISMATCH` (`x` does not fit the teacher's input; at `fit`, another row count)
 * @example
 * ```ts
 * import { cacheTeacherOutputs, Distiller } from '@relkd/layers';
 * import { kd } from '@relkd/layers/recipes/kd';
 *
 * const cached = cacheTeacherOutputs(teacher, x);          // one teacher pass over x
 * const distiller = new Distiller({ teacher: cached, student, ...kd({ temperature: 4 }) });
 * await distiller.fit({ x, y }, { epochs: 2, batchSize: 16 });
 * distiller.dispose();
 * cached.dispose();
 * ```
 */
export function cacheTeacherOutputs(
  teacher: tfl.LayersModel,
  x: tf.Tensor,
  options: CacheTeacherOutputsOptions = {},
): CachedTeacherOutputs {
  const who = 'cacheTeacherOutputs';
  if (!(teacher instanceof tfl.LayersModel)) {
    throw new RelkdError('INVALID_OPTION', `${who}: \`teacher\` must be a tf.LayersModel.`);
  }
  if (!(x instanceof tf.Tensor) || x.isDisposed) {
    throw new RelkdError('INVALID_OPTION', `${who}: \`x\` must be a live tf.Tensor of images.`);
  }
  if (options === null || typeof options !== 'object') {
    throw new RelkdError('INVALID_OPTION', `${who}: \`options\` must be an object.`);
  }
  const { batchSize = DEFAULT_BATCH_SIZE, features = [] } = options;
  assertNumber(batchSize, `${who} options.batchSize`, { min: 1, integer: true });
  if (!Array.isArray(features) || features.some((f) => typeof f !== 'string')) {
    throw new RelkdError(
      'INVALID_OPTION',
      `${who}: \`options.features\` must be an array of layer names.`,
    );
  }
  const rows = x.shape[0] ?? 0;
  if (x.rank < 1 || rows === 0) {
    throw new RelkdError('EMPTY_BATCH', `${who}: \`x\` has no rows.`);
  }
  if (teacher.inputs.length === 1) {
    const expected = teacher.inputs[0]!.shape.slice(1);
    const actual = x.shape.slice(1);
    if (
      expected.length !== actual.length ||
      !expected.every((d, i) => d === null || d === actual[i])
    ) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `${who}: \`x\` has per-sample shape ${formatShape(actual)} but the teacher '${teacher.name}' expects [${expected.map((d) => d ?? '*').join(', ')}].`,
        { expected, actual },
      );
    }
  }
  const t = tap(teacher, { features });
  const parts: TapOutput[] = [];
  let logits: tf.Tensor2D;
  let cachedFeatures: Record<string, tf.Tensor>;
  try {
    for (let start = 0; start < rows; start += batchSize) {
      const size = Math.min(batchSize, rows - start);
      parts.push(
        tf.tidy(() => {
          const out = t(tf.slice(x, start, size), { training: false });
          return { logits: out.logits, features: out.features };
        }),
      );
    }
    const joined = tf.tidy(() => ({
      logits: tf.concat(parts.map((p) => p.logits)) as tf.Tensor2D,
      features: Object.fromEntries(
        features.map((name) => [name, tf.concat(parts.map((p) => p.features[name]!))]),
      ),
    }));
    logits = joined.logits;
    cachedFeatures = joined.features;
  } finally {
    for (const p of parts) tf.dispose([p.logits, ...Object.values(p.features)]);
  }
  if (logits.rank !== 2) {
    tf.dispose([logits, ...Object.values(cachedFeatures)]);
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `${who}: the teacher's logits must be [N, C], got ${formatShape(logits.shape)}.`,
    );
  }
  let disposed = false;
  const live = (what: string) => {
    if (disposed) {
      throw new RelkdError('INVALID_OPTION', `${who}: ${what} after dispose().`);
    }
  };
  return {
    rowCount: rows,
    logits,
    features: cachedFeatures,
    async prepare(info: OfflineTeacherDataInfo): Promise<void> {
      live('prepare');
      if (info.rows !== undefined && info.rows !== rows) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `${who}: the cache holds the teacher's outputs of ${rows} rows but the training data has ${info.rows}; cache the same images you fit on.`,
          { expected: rows, actual: info.rows },
        );
      }
      const classes = logits.shape[1];
      if (info.numClasses !== undefined && info.numClasses !== classes) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `${who}: the cached logits have ${classes} classes but the student has ${info.numClasses}.`,
          { expected: info.numClasses, actual: classes },
        );
      }
    },
    async gather(indices: ArrayLike<number>): Promise<TapOutput> {
      live('gather');
      const idx = new Int32Array(indices.length);
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        if (!Number.isInteger(i) || i < 0 || i >= rows) {
          throw new RelkdError(
            'INVALID_OPTION',
            `${who}: row ${i} is outside the cached rows [0, ${rows}).`,
            { row: i, rows },
          );
        }
        idx[k] = i;
      }
      return tf.tidy(() => {
        const at = tf.tensor1d(idx, 'int32');
        return {
          logits: tf.gather(logits, at),
          features: Object.fromEntries(
            Object.entries(cachedFeatures).map(([name, f]) => [name, tf.gather(f, at)]),
          ),
        };
      });
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      tf.dispose([logits, ...Object.values(cachedFeatures)]);
    },
  };
}
