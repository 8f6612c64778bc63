import { RelkdError } from '@relkd/core';
import { formatShape } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Tap } from '../tap';
import { checkLabels } from './labels';

/** `SHAPE_MISMATCH` unless `x` and `y` have the same number of rows. */
export function checkRows(x: tf.Tensor, y: tf.Tensor, where: string): void {
  if (x.rank === 0 || y.rank === 0 || x.shape[0] !== y.shape[0]) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `Distiller.fit: ${where} has x of shape ${formatShape(x.shape)} and y of shape ${formatShape(y.shape)}; they must have the same number of rows.`,
    );
  }
}

/**
 * Checks `x`'s per-sample shape against the student's and the teacher's input shapes
 * (`SHAPE_MISMATCH`, naming the model, the expected and the actual shape).
 */
export function checkInputShape(
  [student, teacher]: readonly [tfl.LayersModel, tfl.LayersModel | undefined],
  x: tf.Tensor,
  where: string,
  who = 'Distiller.fit',
): void {
  for (const [role, model] of [
    ['student', student],
    ['teacher', teacher],
  ] as const) {
    if (model === undefined || model.inputs.length !== 1) continue;
    const expected = model.inputs[0]!.shape.slice(1);
    const actual = x.shape.slice(1);
    const fits =
      expected.length === actual.length && expected.every((d, i) => d === null || d === actual[i]);
    if (!fits) {
      const want = `[${expected.map((d) => (d === null ? '*' : d)).join(', ')}]`;
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `${who}: ${where} has per-sample shape ${formatShape(actual)} (full shape ${formatShape(x.shape)}) but the ${role} '${model.name}' expects ${want} (input shape [batch, ${want.slice(1)}). Reshape the data (e.g. tf.reshape(x, [-1, ${expected.map((d) => d ?? -1).join(', ')}])) or fix the model's inputShape.`,
        { role, model: model.name, expected, actual },
      );
    }
  }
}

/** What the set-up checks run on: the raw models and their taps. */
export interface SetupModels {
  student: tfl.LayersModel;
  teacher: tfl.LayersModel | undefined;
  studentTap: Tap;
  teacherTap: Tap | undefined;
}

/**
 * The set-up checks of `Distiller.fit` (internal; see `FitOptions.validate`): input shapes, a
 * one-sample dry run of both models, class counts and labels. Remembers the student's class count.
 */
export class SetupChecks {
  /** The student's output width, once known. */
  private classCount: number | undefined;

  constructor(private readonly c: SetupModels) {}

  /** The student's number of classes: the last dimension of its (tapped) logits. */
  numClasses(): number {
    if (this.classCount !== undefined) return this.classCount;
    const shape = this.c.studentTap.model.outputs[0]!.shape;
    const c = shape[shape.length - 1];
    if (shape.length === 2 && typeof c === 'number') this.classCount = c;
    return this.classCount ?? this.dryRunClasses();
  }

  /** Runs the student on one zero sample of its input shape to learn its output width. */
  private dryRunClasses(): number {
    const input = this.c.student.inputs[0]!.shape;
    if (input.slice(1).some((d) => d === null)) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `Distiller.fit: cannot tell how many classes the student '${this.c.student.name}' outputs (its input shape ${JSON.stringify(input)} has free dimensions); pass validate: 'none' to skip the label check.`,
      );
    }
    const c = tf.tidy(() => {
      const out = this.c.studentTap(tf.zeros([1, ...(input.slice(1) as number[])]), {
        training: false,
      }).logits;
      return out.shape[out.shape.length - 1]!;
    });
    this.classCount = c;
    return c;
  }

  /**
   * The set-up checks of {@link FitOptions.validate} on data `(x, y)` (`where` names it in
   * messages): input shapes, a one-sample inference-mode dry run of the raw student and teacher
   * (not through the terms or the batch transform), class counts, then the labels (one read).
   * Returns the labels as class indices.
   */
  async checkSetup(x: tf.Tensor, y: tf.Tensor, where: string): Promise<Int32Array> {
    checkInputShape([this.c.student, this.c.teacher], x, `${where}.x`);
    const classes = tf.tidy(() => {
      const sample = x.shape[0] === 1 ? x : tf.slice(x, 0, 1);
      const run = (role: 'student' | 'teacher', t: Tap, model: tfl.LayersModel): number => {
        let logits: tf.Tensor;
        try {
          logits = t(sample, { training: false }).logits;
        } catch (e) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `Distiller.fit: the ${role} '${model.name}' failed on one sample of ${where}.x (shape ${formatShape(sample.shape)}): ${(e as Error).message}`,
            { role, model: model.name, cause: e },
          );
        }
        if (logits.rank !== 2) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `Distiller.fit: the ${role} '${model.name}' must output [B, C] logits, got shape ${formatShape(logits.shape)} for one sample; end it in a Dense/flatten layer or tap the logits layer (taps.${role}.logits).`,
            { role, model: model.name, shape: logits.shape },
          );
        }
        return logits.shape[1]!;
      };
      const s = run('student', this.c.studentTap, this.c.student);
      if (this.c.teacherTap !== undefined && this.c.teacher !== undefined) {
        const t = run('teacher', this.c.teacherTap, this.c.teacher);
        if (t !== s) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `Distiller.fit: the teacher '${this.c.teacher.name}' outputs ${t} classes but the student '${this.c.student.name}' outputs ${s}; both must predict the same classes (pass validate: 'none' for a feature-only distillation).`,
            { teacher: this.c.teacher.name, student: this.c.student.name, classes: [t, s] },
          );
        }
      }
      return s;
    });
    this.classCount = classes;
    return checkLabels(y, classes, `${where}.y`);
  }
}
