/**
 * Node entry of `@relkd/teacher-outputs`: read a teacher-outputs directory from disk
 * ({@link fromDirectory}) and write one from a tfjs teacher ({@link exportTeacherOutputs},
 * {@link TeacherOutputsWriter}). Re-exports the main entry.
 *
 * @module @relkd/teacher-outputs/node
 */
export * from './index';
export {
  type ExportTeacherOutputsOptions,
  exportTeacherOutputs,
  type TeacherFunction,
} from './node/exportTeacherOutputs';
export { fromDirectory } from './node/fromDirectory';
export {
  TeacherOutputsWriter,
  type TeacherOutputsWriterOptions,
} from './node/TeacherOutputsWriter';
