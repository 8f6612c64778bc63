import { RelkdError } from '@relkd/core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { tap } from './tap';

/**
 * Stage output shapes `[H, W, C]` (NHWC without batch) of the named layers of `model`: what
 * MTKD-SSR's adapters and stage heads and CORSD's relation networks are built from.
 *
 * @throws RelkdError `INVALID_OPTION` when a layer does not output a fixed-size NHWC map; an
 *   unknown layer name throws as in {@link tap}.
 * @example
 * ```ts
 * const shapes = stageShapes(student, ['block1_out', 'block2_out']); // e.g. [[14, 14, 8], [7, 7, 16]]
 * ```
 */
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
