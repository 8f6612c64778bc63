/**
 * @relkd/class-correlation — ICC ("Improving knowledge distillation via an expressive teacher",
 * Tan, Liu & Zhang, Knowledge-Based Systems 2021): an inter-class correlation regulariser that
 * makes the teacher express class correlation, and a loss that makes the student mimic it.
 *
 * @module @relkd/class-correlation
 * @document ../README.md
 */

export {
  ClassCorrelationTracker,
  type ClassCorrelationTrackerOptions,
  type TrackerCallOptions,
} from './ClassCorrelationTracker';
export { type ClassCorrelationOptions, classCorrelation } from './classCorrelation';
export {
  type CorrelationHeatmapOptions,
  correlationHeatmap,
  type HeatmapScaleOptions,
} from './correlationHeatmap';
export { type CorrelationHeatmapSvgOptions, correlationHeatmapSvg } from './correlationHeatmapSvg';
export { type IccLossOptions, iccLoss } from './iccLoss';
export {
  type IccStudentInputs,
  type IccStudentLossOptions,
  type IccStudentLossResult,
  iccStudentLoss,
} from './iccStudentLoss';
export type { HeatmapColormap } from './internal/colormap';
export type { CorrelationNormalize } from './internal/options';
export { offDiagonalMass } from './offDiagonalMass';
export {
  type TeacherRegularizerInputs,
  type TeacherRegularizerKind,
  type TeacherRegularizerOptions,
  type TeacherRegularizerResult,
  teacherRegularizer,
} from './teacherRegularizer';
