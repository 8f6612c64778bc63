/**
 * @relkd/mixup-similarity — STKD (Similarity Transfer for Knowledge Distillation) for
 * TensorFlow.js: mixup virtual samples (`mixup`, `mixupWith`) and the similarity transfer loss
 * (`stkdLoss`). See docs/methods/stkd.md for the formulas and what is from the paper.
 *
 * @module @relkd/mixup-similarity
 * @document ../README.md
 */

export type { LambdaInput, PermutationInput } from './internal/mixArgs';
export { type MixupOptions, mixup } from './mixup';
export { type MixupWithOptions, mixupWith } from './mixupWith';
export {
  type MixedTeacher,
  type StkdInputs,
  type StkdLossOptions,
  type StkdLossResult,
  type StkdTargetMode,
  stkdLoss,
} from './stkdLoss';
export type { MixupResult } from './types';
