/**
 * @relkd/relation-network: CORSD (class-oriented relational self distillation) for
 * TensorFlow.js — triplet arrangement, pair gathering, trainable relation networks with
 * auxiliary classifiers, and the CORSD loss.
 *
 * @module @relkd/relation-network
 * @document ../README.md
 */

export {
  type BuildRelationNetworksOptions,
  buildRelationNetworks,
} from './buildRelationNetworks';
export { type ClassBalancedOrderOptions, classBalancedOrder } from './classBalancedOrder';
export {
  type CorsdLossInputs,
  type CorsdLossOptions,
  type CorsdLossResult,
  type CorsdPairInput,
  type CorsdStageInput,
  corsdLoss,
  type ResolvedCorsdLossOptions,
  resolveCorsdLossOptions,
} from './corsdLoss';
export { type FeaturePairs, gatherPairs, type PairIndices } from './gatherPairs';
export { negativePairTargets } from './negativePairTargets';
export { pairAccuracy } from './pairAccuracy';
export {
  type ApplyPairsOptions,
  RelationNetwork,
  type RelationNetworkOptions,
  type RelationOutput,
  type RelationPairOutput,
} from './RelationNetwork';
export { relationStages } from './relationStages';
export {
  type TripletIndices,
  type TripletIndicesOptions,
  tripletIndices,
} from './tripletIndices';
