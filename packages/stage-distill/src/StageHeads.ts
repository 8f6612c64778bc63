import { Module, RelkdError } from '@relkd/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { StageHead } from './StageHead';

/** Internal: a non-empty array of stage features of the expected length. */
export function checkFeatureList(
  x: unknown,
  allowed: readonly number[],
  who: string,
): asserts x is readonly tf.Tensor[] {
  if (!Array.isArray(x) || !allowed.includes(x.length)) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `${who} expects an array of ${allowed.join(' or ')} stage feature maps (shallow to deep), got ${
        Array.isArray(x) ? `${x.length}` : typeof x
      }.`,
      { expected: allowed, actual: Array.isArray(x) ? x.length : typeof x },
    );
  }
}

/**
 * The stage heads of one network as a single {@link Module} (one save/load, one variable list):
 * head k reads stage k's features, for every stage but the deepest (whose logits come from the
 * network's own classifier). `apply(features)` takes the K stage feature maps (or only the first
 * K − 1) and returns the K − 1 head logits `[B, C]`, shallow to deep.
 *
 * Usually built by {@link buildStageModules}.
 *
 * @example
 * ```ts
 * const heads = new StageHeads([head0, head1]);
 * const logits = heads.apply([f0, f1, f2], { training: true }); // [z0, z1]
 * const stageLogits = [...logits, model.predict(x)];
 * ```
 */
export class StageHeads extends Module<readonly tf.Tensor[], tf.Tensor[]> {
  readonly heads: readonly StageHead[];

  constructor(heads: readonly StageHead[], name = 'StageHeads') {
    super(name);
    this.heads = heads.map((h, k) => this.addModule(`head${k}`, h));
  }

  protected forward(features: readonly tf.Tensor[], training: boolean): tf.Tensor[] {
    const n = this.heads.length;
    checkFeatureList(features, [n, n + 1], this.name);
    return this.heads.map((h, k) => h.apply(features[k]!, { training }));
  }
}
