/**
 * @relkd/relation-network: CORSD (class-oriented relational self distillation) for
 * TensorFlow.js — triplet arrangement, pair gathering, trainable relation networks with
 * auxiliary classifiers, and the CORSD loss.
 *
 * @packageDocumentation
 */

export {
  type BuildRelationNetworksOptions,
  buildRelationNetworks,
} from './buildRelationNetworks';
export {
  type CorsdLossInputs,
  type CorsdLossOptions,
  type CorsdLossResult,
  type CorsdPairInput,
  type CorsdStageInput,
  corsdLoss,
} from './corsdLoss';
export { type FeaturePairs, gatherPairs, type PairIndices } from './gatherPairs';
export { negativePairTargets } from './negativePairTargets';
export {
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
