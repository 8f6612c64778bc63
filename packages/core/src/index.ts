/**
 * @relkd/core: shared tensor math, the KD and cross-entropy losses, errors and warnings,
 * trainable `Module`s and seeded randomness. Everything exported here is semver-public; the
 * plumbing the relkd packages share (validation helpers, seed derivation, ...) is on the
 * `@relkd/core/internal` subpath, which semver does not cover.
 *
 * @module @relkd/core
 * @document ../README.md
 */

export { isRelkdError, RelkdError, type RelkdErrorCode } from './errors/RelkdError';
export {
  type RelkdWarning,
  type RelkdWarningCode,
  type RelkdWarningHandler,
  setWarningHandler,
} from './errors/warnings';
export { type CrossEntropyOptions, crossEntropy } from './losses/crossEntropy';
export { type KdLossOptions, kdLoss } from './losses/kdLoss';
export { type KlDivergenceOptions, klDivergence } from './losses/klDivergence';
export { type SoftCrossEntropyOptions, softCrossEntropy } from './losses/softCrossEntropy';
export { type WeightedSum, weightedSum } from './losses/weightedSum';
export { classGram } from './math/classGram';
export { connectedZero } from './math/connectedZero';
export { cosineSimilarityMatrix } from './math/cosineSimilarityMatrix';
export { globalAveragePool } from './math/globalAveragePool';
export { gram } from './math/gram';
export { type L2NormalizeOptions, l2Normalize } from './math/l2Normalize';
export { oneHotFloat } from './math/oneHotFloat';
export { pairwiseSquaredDistances } from './math/pairwiseSquaredDistances';
export { safeSqrt } from './math/safeSqrt';
export { stopGradient } from './math/stopGradient';
export { type ZScoreOptions, zScore } from './math/zScore';
export { GlobalAveragePool, ReLU, Sigmoid } from './modules/activations';
export { BatchNorm, type BatchNormOptions } from './modules/BatchNorm';
export { Conv2D, type Conv2DOptions } from './modules/Conv2D';
export type { Padding } from './modules/checkInput';
export { Dense, type DenseOptions } from './modules/Dense';
export { DepthwiseConv2D, type DepthwiseConv2DOptions } from './modules/DepthwiseConv2D';
export { type DenseInit, heNormalFanOut, uniformInit } from './modules/initializers';
export { type ApplyOptions, Module, type NamedVariable, type SavedWeights } from './modules/Module';
export { SeparableConv2D, type SeparableConv2DOptions } from './modules/SeparableConv2D';
export { SepConv, type SepConvOptions } from './modules/SepConv';
export { Sequential } from './modules/Sequential';
export { FusedAdamOptimizer } from './optim/FusedAdamOptimizer';
export { Rng } from './random/Rng';
export { type SampleBetaOptions, sampleBeta } from './random/sampleBeta';
export { seededPermutation } from './random/seededPermutation';
export {
  checkTfjsCore,
  type TfjsCoreCopy,
  type TfjsCoreUser,
} from './validation/checkTfjsCore';
export type { TensorInput, ValidateMode } from './validation/validation';
