import type * as tf from '@tensorflow/tfjs-core';
import { type KernelScope, padOrCrop } from './kernelScope';

/** The geometry the composite conv kernels need (a subset of tfjs' Conv2DInfo). */
export interface ConvGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padInfo: { top: number; left: number };
}

/**
 * Pads `x` (NHWC) so that every kernel tap `(i, j)` reads a full strided window, then calls
 * `visit(i, j, window)` with `window[n, y, x, c] = xPadded[n, y*sh + i*dh, x*sw + j*dw, c]`
 * (shape `[N, outH, outW, C]`). Each window is released after its visit.
 */
export function forEachTap(
  s: KernelScope,
  x: tf.TensorInfo,
  g: ConvGeometry,
  visit: (i: number, j: number, window: tf.TensorInfo) => void,
): void {
  const needH = (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1;
  const needW = (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1;
  const top = g.padInfo.top;
  const left = g.padInfo.left;
  const xp = padOrCrop(s, x, [top, left], [needH - g.inHeight - top, needW - g.inWidth - left]);
  const c = x.shape[3] as number;
  for (let i = 0; i < g.filterHeight; i++) {
    for (let j = 0; j < g.filterWidth; j++) {
      const r0 = i * g.dilationHeight;
      const c0 = j * g.dilationWidth;
      const window =
        g.strideHeight === 1 && g.strideWidth === 1
          ? s.run(
              'Slice',
              { x: xp },
              { begin: [0, r0, c0, 0], size: [g.batchSize, g.outHeight, g.outWidth, c] },
            )
          : s.run(
              'StridedSlice',
              { x: xp },
              {
                begin: [0, r0, c0, 0],
                end: [
                  g.batchSize,
                  r0 + (g.outHeight - 1) * g.strideHeight + 1,
                  c0 + (g.outWidth - 1) * g.strideWidth + 1,
                  c,
                ],
                strides: [1, g.strideHeight, g.strideWidth, 1],
                beginMask: 0,
                endMask: 0,
                ellipsisMask: 0,
                newAxisMask: 0,
                shrinkAxisMask: 0,
              },
            );
      visit(i, j, window);
      s.release(window);
    }
  }
}
