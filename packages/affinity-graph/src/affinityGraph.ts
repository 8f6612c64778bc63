import { RelkdError, zScore } from '@relkd/core';
import { assertSameShape, toLogits } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { type AffinityEdges, unitDifferences } from './internal/unitDifferences';
import type { EdgeOptions } from './interSampleEdges';
import { checkEpsilon, EDGE_EPSILON, ZS_EPSILON } from './options';
import type { ViewLogits } from './vrmLoss';

/** Options of {@link affinityGraph}. */
export interface AffinityGraphOptions extends EdgeOptions {
  /** z-score each row over the classes first (`(z − mean) / (std + 1e-7)`). Default `true`. */
  zsNorm?: boolean;
}

/** Both VRM graphs of one network. */
export interface AffinityGraph {
  /** Stacked (and, with `zsNorm`, z-scored) logits `Y = [real; virtual]`, `[2B, C]`. */
  y: tf.Tensor2D;
  /** Inter-sample graph over the rows of `Y`: `[2B, 2B, C]`. */
  is: AffinityEdges;
  /** Inter-class graph over the columns of `Y`: `[C, C, 2B]`. */
  ic: AffinityEdges;
}

/**
 * Builds the full (unpruned) VRM affinity graphs of one network from its logits on the real and
 * the virtual view: `Y = [real; virtual]` (`[2B, C]`, row `B + i` is the virtual view of image
 * `i`), optionally z-scored per row, then {@link interSampleEdges} and {@link interClassEdges}.
 * Memory `O(N²C + C²N)`: meant for inspection and small batches; {@link vrmLoss} never builds
 * these tensors on its default path.
 *
 * @example
 * ```ts
 * const g = affinityGraph({ real: teacherLogits, virtual: teacherVirtualLogits });
 * g.is.edges.shape; // [2B, 2B, C]
 * tf.dispose(g);
 * ```
 */
export function affinityGraph(
  views: ViewLogits,
  options: AffinityGraphOptions = {},
): AffinityGraph {
  const { zsNorm = true, epsilon = EDGE_EPSILON } = options;
  checkEpsilon(epsilon, 'options.epsilon');
  if (typeof zsNorm !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`options.zsNorm\` must be a boolean, got ${String(zsNorm)}.`,
      {
        name: 'options.zsNorm',
      },
    );
  }
  if (views == null) {
    throw new RelkdError('INVALID_OPTION', '`views` must be { real, virtual }.', { name: 'views' });
  }
  return tf.tidy(() => {
    const real = toLogits(views.real, 'views.real');
    const virtual = toLogits(views.virtual, 'views.virtual');
    assertSameShape(virtual, real, 'views.virtual', 'views.real');
    const stacked = tf.concat([real, virtual]) as tf.Tensor2D;
    const y = zsNorm ? zScore(stacked, { epsilon: ZS_EPSILON }) : stacked;
    const is = unitDifferences(y, epsilon);
    const ic = unitDifferences(tf.transpose(y) as tf.Tensor2D, epsilon);
    return { y, is, ic } as unknown as tf.TensorContainerObject;
  }) as unknown as AffinityGraph;
}
