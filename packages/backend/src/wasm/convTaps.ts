import * as tf from '@tensorflow/tfjs-core';
import { assertChannelsLast, type KernelScope, padOrCrop } from './kernelScope';

/** The attributes of tfjs' conv backprop kernels that the geometry depends on. */
interface ConvBackpropAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: [number, number] | number;
}

/**
 * tfjs' `Conv2DInfo` of a conv backprop kernel call, from its attributes and the forward input
 * and filter shapes (`dilations` default 1; NCHW throws `INVALID_OPTION`). Shared by the
 * composite kernels.
 */
export function backpropGeometry(
  attrs: tf.NamedAttrMap | undefined,
  inputShape: readonly number[],
  filterShape: readonly number[],
  depthwise: boolean,
  kernel: string,
): tf.backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode, dilations } =
    attrs as unknown as ConvBackpropAttrs;
  assertChannelsLast(dataFormat, kernel);
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    depthwise,
  );
}

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
 * `x` (NHWC) padded (or cropped) to exactly the rows and columns the kernel taps read:
 * `(out − 1)·stride + (filter − 1)·dilation + 1`, starting at the forward padding's top/left.
 */
export function padForTaps(s: KernelScope, x: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  const needH = (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1;
  const needW = (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1;
  const { top, left } = g.padInfo;
  return padOrCrop(s, x, [top, left], [needH - g.inHeight - top, needW - g.inWidth - left]);
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
  const xp = padForTaps(s, x, g);
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

/**
 * `dy` (NHWC) prepared for a transposed convolution (the input gradient of a conv): upsampled by
 * the stride (zeros in between, via `PadV2` on a reshaped view), with the padding `pad` under which
 * a correlation with the spatially flipped filter, at the forward dilation and stride 1, yields
 * exactly the forward input's `inHeight × inWidth`: explicit zero padding that the convolution
 * applies itself, or, when rows or columns must be cropped, `'valid'` on a cropped copy. Shared by the conv2d and depthwise
 * input-gradient kernels.
 */
export function spreadForTransposedConv(
  s: KernelScope,
  dy: tf.TensorInfo,
  g: tf.backend_util.Conv2DInfo,
): { x: tf.TensorInfo; pad: tf.backend_util.ExplicitPadding | 'valid' } {
  const [n, oh, ow, c] = dy.shape as [number, number, number, number];
  const { strideHeight: sh, strideWidth: sw } = g;
  let up = dy;
  if (sh > 1 || sw > 1) {
    const v = s.reshape(dy, [n * oh, 1, ow, 1, c]);
    const p = s.run(
      'PadV2',
      { x: v },
      {
        paddings: [
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    up = s.reshape(p, [n, oh * sh, ow * sw, c]);
  }
  const effH = (g.filterHeight - 1) * g.dilationHeight;
  const effW = (g.filterWidth - 1) * g.dilationWidth;
  const beforeH = effH - g.padInfo.top;
  const beforeW = effW - g.padInfo.left;
  const afterH = g.inHeight + effH - beforeH - oh * sh;
  const afterW = g.inWidth + effW - beforeW - ow * sw;
  if (beforeH >= 0 && beforeW >= 0 && afterH >= 0 && afterW >= 0) {
    // Zero padding only: the convolution pads (no `PadV2` copy of dy).
    const pad: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [beforeH, afterH],
      [beforeW, afterW],
      [0, 0],
    ];
    return { x: up, pad };
  }
  return { x: padOrCrop(s, up, [beforeH, beforeW], [afterH, afterW]), pad: 'valid' };
}
