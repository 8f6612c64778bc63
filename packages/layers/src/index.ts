/**
 * @relkd/layers: taps on tfjs-layers models, the `Distiller`, and recipes for every method.
 *
 * @module @relkd/layers
 * @document ../README.md
 */

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
export { loadFromDirectory } from './node/files';
export {
  isOfflineTeacher,
  type OfflineTeacherDataInfo,
  type OfflineTeacherSource,
} from './offlineTeacher';
export { formatDuration, ProgressBar, type ProgressOptions, type ProgressStream } from './progress';
export {
  type CorsdRecipe,
  type CorsdRecipeOptions,
  type IccRecipeOptions,
  type IccTeacherRecipeOptions,
  type KdRecipeOptions,
  type MtkdRecipe,
  type MtkdRecipeOptions,
  type MtkdTeacherHeads,
  recipes,
  type StkdRecipeOptions,
  stageShapes,
  VRM_RECIPE_UEP,
  type VrmRecipeOptions,
} from './recipes';
export {
  layerNames,
  type Tap,
  type TapCallOptions,
  type TapOutput,
  type TapSpec,
  tap,
} from './tap';
