import { RelkdError } from '@relkd/core';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { NetworkOutputs, TermContext, TermResult } from '../Distiller';
import { tap } from '../tap';

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

/** Stage output shapes `[H, W, C]` (NHWC without batch) of the named layers of `model`. */
export function stageShapes(
  model: tfl.LayersModel,
  layers: readonly string[],
): Array<[number, number, number]> {
  const t = tap(model, { features: layers });
  return t.model.outputs.slice(1).map((o, k) => {
    const s = o.shape;
    if (s.length !== 4 || s.slice(1).some((d) => d === null)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `stage '${layers[k]}' of '${model.name}' must output a fixed-size NHWC feature map [B, H, W, C], got ${JSON.stringify(s)}.`,
      );
    }
    return [s[1]!, s[2]!, s[3]!] as [number, number, number];
  });
}

/** A relkd loss result (`{ total, ...parts }`) as a Distiller term result. */
export function asTerm(r: { total: tf.Scalar }): TermResult {
  return r as unknown as TermResult;
}
