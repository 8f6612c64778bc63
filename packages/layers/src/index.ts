/**
 * @relkd/layers: taps on tfjs-layers models and the `Distiller` training loop. Depends on
 * `@relkd/core` and `@tensorflow/tfjs-layers` only; the recipes of each method are on their own
 * subpaths (`@relkd/layers/recipes/<method>`), the registry of methods on `@relkd/layers/methods`
 * and Node file I/O on `@relkd/layers/node`.
 *
 * @module @relkd/layers
 * @document ../README.md
 */

export {
  type CachedTeacherOutputs,
  type CacheTeacherOutputsOptions,
  cacheTeacherOutputs,
} from './cacheTeacherOutputs';
export {
  type Batch,
  type BatchContext,
  type BatchLike,
  type BatchSampler,
  type BatchSamplerArgs,
  type BatchTransform,
  type DistillData,
  Distiller,
  type DistillerConfig,
  type DistillerHooks,
  type DistillerParts,
  type EpochLog,
  evaluateModel,
  type FitOptions,
  type FitValidate,
  type History,
  type NetworkOutputs,
  type StepResult,
  type Term,
  type TermContext,
  type TermResult,
  type UpdateContext,
} from './Distiller';
export {
  isOfflineTeacher,
  type OfflineTeacherDataInfo,
  type OfflineTeacherSource,
} from './offlineTeacher';
export type { ProgressOptions, ProgressStream } from './progress';
export { stageShapes } from './stageShapes';
export {
  layerNames,
  type Tap,
  type TapCallOptions,
  type TapOutput,
  type TapSpec,
  tap,
} from './tap';
