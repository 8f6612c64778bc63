import { RelkdError } from '@relkd/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { NetworkOutputs, TermContext, TermResult } from '../Distiller';

// Internal helpers of the recipe files (not a public entry).

/** The teacher's outputs of a step, or a typed error naming the recipe that needs one. */
export function teacherOf(ctx: TermContext, method: string): NetworkOutputs {
  if (ctx.teacher === undefined) {
    throw new RelkdError(
      'INVALID_OPTION',
      `recipes.${method} needs a teacher: pass { teacher } to the Distiller.`,
    );
  }
  return ctx.teacher;
}

export function logits2d(t: tf.Tensor): tf.Tensor2D {
  return t as tf.Tensor2D;
}

/** A relkd loss result (`{ total, ...parts }`) as a Distiller term result. */
export function asTerm(r: { total: tf.Scalar }): TermResult {
  return r as unknown as TermResult;
}
