/**
 * `@relkd/core/internal`: plumbing shared by the relkd packages (input conversion and
 * validation, option checks, module-input checks, seed derivation, the fused kernel names).
 *
 * **Not covered by semver.** "internal" means the same in every relkd package: an `internal`
 * subpath (and the `src/internal/` files behind a package) holds what relkd's own packages share
 * with each other; it may change or disappear in any release, patch releases included. The
 * semver-public API of a package is its main entry (and documented subpaths), as listed in its
 * README. Authors of third-party method packages may use this entry, pinning `@relkd/core` exactly.
 *
 * @module @relkd/core/internal
 */

export { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from './kernels/batchNormKernels';
export { FUSED_ADAM } from './kernels/fusedAdamKernel';
export { FUSED_LOSS_KERNELS, FUSED_SOFT_CE, FUSED_SOFTMAX_KL } from './kernels/fusedLossKernels';
export { toLogitPair } from './losses/logitPair';
export { withoutGradient } from './math/withoutGradient';
export { padSpatial } from './modules/Conv2D';
export { checkModuleInput } from './modules/checkInput';
export { childSeed } from './modules/initializers';
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
  resolveValidate,
  toLabels,
  toLogits,
  toTensor,
  warnIfProbabilities,
} from './validation/validation';
