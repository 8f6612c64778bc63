/**
 * @relkd/affinity-graph — VRM (Virtual Relation Matching) knowledge distillation for
 * TensorFlow.js: virtual views, inter-sample / inter-class affinity graphs, edge pruning.
 *
 * @module @relkd/affinity-graph
 * @document ../README.md
 */

export { type AffinityGraph, type AffinityGraphOptions, affinityGraph } from './affinityGraph';
export { clipMask } from './clipMask';
export { icEdgeMask } from './icEdgeMask';
export { interClassEdges } from './interClassEdges';
export { type AffinityEdges, type EdgeOptions, interSampleEdges } from './interSampleEdges';
export { isEdgeCount, isEdgeMask } from './isEdgeMask';
export { type JointEntropyMaskOptions, jointEntropyMask } from './jointEntropyMask';
export { EDGE_EPSILON, type IsEdges, type UepOption, type VrmPath, ZS_EPSILON } from './options';
export { validEdgeMask } from './validEdgeMask';
export {
  DIGIT_SAFE_OPS,
  MAX_MAGNITUDE,
  type MagnitudeScale,
  RANDAUGMENT_OPS,
  type VirtualViewOp,
  type VirtualViewOptions,
  validateVirtualViewOptions,
  virtualView,
} from './virtualView';
export {
  GRAM_TOLERANCE,
  type ViewLogits,
  type VrmInputs,
  type VrmLossOptions,
  type VrmLossResult,
  validateVrmLossOptions,
  vrmLoss,
} from './vrmLoss';
