import { RelkdError } from '@relkd/core';
import type { OfflineTeacherSource } from './offlineTeacher';

/**
 * Stage shapes `[H, W, C]` of an offline teacher's stored stage outputs, for MTKD-SSR
 * (`recipes/mtkd` with `teacher` an offline source), after checking that the outputs hold what
 * the recipe's terms read:
 *
 * - SCD: each stage output named in `stages` (shallow to deep), per row `[H, W, C]` (NHWC) or
 *   already pooled `[C]` (SCD compares only the per-channel means `GAP(F^T_k)`, so the pooled
 *   vector gives the same loss; it is returned as `[1, 1, C]`);
 * - SRD with `teacherHeads: 'pretrain'` (default): the teacher stage heads' logits of every
 *   stage but the deepest, stored as `<stage>_logits` (`[C]`, the width of `logits`); the deepest
 *   stage's target is `logits`. With `'final'` only `logits` is read.
 *
 * The exporters write these names: `tools/teacher-outputs/export_torch.py --stages --stage-logits`
 * (`stage1 … stageK`, `stage1_logits …`), and `exportTeacherOutputs` with a live recipe's
 * `recipe.teacherOutputs`.
 *
 * @throws RelkdError `INVALID_OPTION` (the source has no `outputShapes`, or an output is missing:
 *   the message names it, the source and the exporter flag that writes it), `SHAPE_MISMATCH`
 *   (an output of another rank or width).
 * @example
 * ```ts
 * mtkdOfflineStageShapes(outputs, ['stage1', 'stage2', 'stage3']);
 * // [[14, 14, 16], [7, 7, 32], [1, 1, 64]] (stage3 stored pooled, [64])
 * ```
 */
export function mtkdOfflineStageShapes(
  teacher: OfflineTeacherSource,
  stages: readonly string[],
  teacherHeads: 'pretrain' | 'final' = 'pretrain',
): Array<[number, number, number]> {
  const where = teacher.description ?? 'the offline teacher';
  const shapes = teacher.outputShapes;
  if (shapes === undefined) {
    throw new RelkdError(
      'INVALID_OPTION',
      `recipes.mtkd: ${where} does not describe its outputs (no \`outputShapes\`); MTKD-SSR sizes its adapters from the teacher's stage widths. Use TeacherOutputs from @relkd/teacher-outputs, or add outputShapes to the source.`,
    );
  }
  const held = Object.keys(shapes).join(', ');
  const logits = shapes.logits;
  if (logits === undefined || logits.length !== 1) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `recipes.mtkd: ${where}: 'logits' must be stored with per-row shape [C], got ${JSON.stringify(logits)}.`,
      { output: 'logits' },
    );
  }
  const result = stages.map((name, k): [number, number, number] => {
    const s = shapes[name];
    if (s === undefined) {
      throw new RelkdError(
        'INVALID_OPTION',
        `recipes.mtkd: ${where} has no output '${name}' (stages.teacher[${k}]), the teacher's stage-${k + 1} features that SCD needs; it holds ${held}. Export the stage outputs (export_torch.py --stages, or exportTeacherOutputs with recipe.teacherOutputs), or name the stored ones in stages.teacher.`,
        { output: name },
      );
    }
    if (s.length === 3) return [s[0]!, s[1]!, s[2]!];
    if (s.length === 1) return [1, 1, s[0]!];
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `recipes.mtkd: ${where}: stage output '${name}' has per-row shape [${s.join(', ')}]; expected an NHWC map [H, W, C] or the pooled channel vector [C].`,
      { output: name },
    );
  });
  if (teacherHeads === 'pretrain') {
    stages.slice(0, -1).forEach((stage, k) => {
      const name = `${stage}_logits`;
      const s = shapes[name];
      if (s === undefined) {
        throw new RelkdError(
          'INVALID_OPTION',
          `recipes.mtkd: ${where} has no output '${name}', the teacher's stage-${k + 1} head logits that SRD needs with teacherHeads 'pretrain'; it holds ${held}. Export them (export_torch.py --stage-logits, or exportTeacherOutputs with recipe.teacherOutputs), or use teacherHeads: 'final' (every stage distils from 'logits').`,
          { output: name },
        );
      }
      if (s.length !== 1 || s[0] !== logits[0]) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `recipes.mtkd: ${where}: stage logits '${name}' have per-row shape [${s.join(', ')}]; expected [${logits[0]}] like 'logits'.`,
          { output: name },
        );
      }
    });
  }
  return result;
}
