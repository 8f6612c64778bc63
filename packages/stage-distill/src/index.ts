/**
 * @relkd/stage-distill — MTKD-SSR (Gou et al., IJCV 2023) for TensorFlow.js: stage-wise channel
 * distillation (SCD), stage-wise response distillation (SRD) and cross-stage review distillation
 * (the student's self-reflection, `crossStageReview…` in code), with the trainable adapters and
 * stage heads they need.
 *
 * @module @relkd/stage-distill
 * @document ../README.md
 */

export {
  type BuildStageModulesOptions,
  buildStageModules,
  downsampleFor,
  type StageModuleSet,
  type StageShape,
} from './buildStageModules';
export { ChannelAdapter, type ChannelAdapterOptions } from './ChannelAdapter';
export {
  type ChannelDistillationLossOptions,
  type ChannelNormalize,
  channelDistillationLoss,
} from './channelDistillationLoss';
export {
  type CrossStageReviewLossOptions,
  crossStageReviewLoss,
  type ReviewPairs,
} from './crossStageReviewLoss';
export {
  FIT_STAGE_HEADS_DEFAULTS,
  type FitStageHeadsOptions,
  type FitStageHeadsResult,
  fitStageHeads,
  resolveFitStageHeadsOptions,
} from './fitStageHeads';
export { type MtkdInputs, type MtkdLossOptions, type MtkdLossResult, mtkdLoss } from './mtkdLoss';
export { StageHead, type StageHeadOptions } from './StageHead';
export { StageHeads } from './StageHeads';
export { StageModules, type StageModulesOutput } from './StageModules';
export { type StageResponseLossOptions, stageResponseLoss } from './stageResponseLoss';
export { linearStageMapping, type StageMapping } from './stages';
