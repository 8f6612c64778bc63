export { RelkdError, isRelkdError, type RelkdErrorCode } from './errors/RelkdError';
export {
  assertNonEmpty,
  assertNumber,
  assertOneOf,
  assertRank,
  assertSameShape,
  assertShape,
  checkFinite,
  ensureGradients,
  formatShape,
  type TensorInput,
  toLabels,
  toLogits,
  toTensor,
  type ValidateMode,
} from './validation/validation';
export { crossEntropy, type CrossEntropyOptions } from './losses/crossEntropy';
export { softCrossEntropy, type SoftCrossEntropyOptions } from './losses/softCrossEntropy';
export { klDivergence, type KlDivergenceOptions } from './losses/klDivergence';
export { kdLoss, type KdLossOptions } from './losses/kdLoss';
export { weightedSum, type WeightedSum } from './losses/weightedSum';
export { stopGradient } from './math/stopGradient';
export { safeSqrt } from './math/safeSqrt';
export { zScore, type ZScoreOptions } from './math/zScore';
export { l2Normalize, type L2NormalizeOptions } from './math/l2Normalize';
export { gram } from './math/gram';
export { classGram } from './math/classGram';
export { pairwiseSquaredDistances } from './math/pairwiseSquaredDistances';
export { cosineSimilarityMatrix } from './math/cosineSimilarityMatrix';
export { globalAveragePool } from './math/globalAveragePool';
export { Rng } from './random/Rng';
export { seededPermutation } from './random/seededPermutation';
export { sampleBeta, type SampleBetaOptions } from './random/sampleBeta';
export { Module, type ApplyOptions, type NamedVariable, type SavedWeights } from './modules/Module';
export { Dense, type DenseOptions } from './modules/Dense';
export { Conv2D, type Conv2DOptions, padSpatial } from './modules/Conv2D';
export { DepthwiseConv2D, type DepthwiseConv2DOptions } from './modules/DepthwiseConv2D';
export { SeparableConv2D, type SeparableConv2DOptions } from './modules/SeparableConv2D';
export { BatchNorm, type BatchNormOptions } from './modules/BatchNorm';
export { ReLU, Sigmoid, GlobalAveragePool } from './modules/activations';
export { Sequential } from './modules/Sequential';
export { SepConv, type SepConvOptions } from './modules/SepConv';
export { childSeed, heNormalFanOut, uniformInit, type DenseInit } from './modules/initializers';
export type { Padding } from './modules/checkInput';
