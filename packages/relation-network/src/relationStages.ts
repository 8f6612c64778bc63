import { RelkdError, type TensorInput } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { gatherJointPairs, gatherPairs, type PairIndices } from './gatherPairs';
import type { ApplyPairsOptions, RelationNetwork, RelationPairOutput } from './RelationNetwork';

/**
 * Runs every stage's relation network on its positive and negative pairs: for stage k,
 * `networks[k].applyPairs(gatherPairs(stageFeatures[k], indices), options)`. The result is the
 * `stages` input of {@link corsdLoss} (shallow -> deepest). Intermediates (the pair tensors)
 * are released; gradients flow to the networks' variables and to the stage features. With
 * `jointBatch: true` each stage's joint batch `[2B, H, W, 2C]` is built in one step (one
 * selection product and a transpose instead of `gatherPairs`' channel concatenations and the
 * batch concatenation): the same values and gradients, fewer kernels.
 *
 * @param networks K relation networks, shallow -> deepest ({@link buildRelationNetworks}).
 * @param stageFeatures K NHWC stage outputs `[N, H_k, W_k, C_k]` of the backbone, same order.
 * @param indices the triplets ({@link tripletIndices}).
 * @throws RelkdError `SHAPE_MISMATCH` (count), plus those of {@link gatherPairs} and the networks
 * @example
 * ```ts
 * const stages = relationStages(nets, [f1, f2, f3], t, { training: true });
 * const { total } = corsdLoss({ stages, anchorLabels: labels, negativeLabels: t.negativeLabels });
 * ```
 */
export function relationStages(
  networks: readonly RelationNetwork[],
  stageFeatures: readonly (tf.Tensor4D | TensorInput)[],
  indices: PairIndices,
  options: ApplyPairsOptions = {},
): RelationPairOutput[] {
  if (
    !Array.isArray(networks) ||
    !Array.isArray(stageFeatures) ||
    networks.length !== stageFeatures.length
  ) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `relationStages needs one stage feature map per relation network, got ${Array.isArray(networks) ? networks.length : 'no'} networks and ${Array.isArray(stageFeatures) ? stageFeatures.length : 'no'} feature maps.`,
    );
  }
  const { jointBatch, ...applyOptions } = options;
  return tf.tidy(() =>
    networks.map((net, k) =>
      // The joint batch in one step (no channel concatenations), same values as
      // applyPairs(gatherPairs(...), { jointBatch: true }); anything else (and the option's
      // check) goes through applyPairs.
      jointBatch === true
        ? net.applyJointPairs(gatherJointPairs(stageFeatures[k]!, indices), applyOptions)
        : net.applyPairs(gatherPairs(stageFeatures[k]!, indices), options),
    ),
  );
}
