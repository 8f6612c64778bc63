import type * as tf from '@tensorflow/tfjs-core';
import { backpropGeometry, forEachTap, padForTaps } from './convTaps';
import { composite, type KernelScope } from './kernelScope';

/**
 * `Conv2DBackpropFilter` for the wasm backend (tfjs-backend-wasm 4.22 has none), composed of
 * existing wasm kernels. NHWC only; strides, 'same'/'valid'/explicit padding; `dilations` honoured
 * when present in the attributes (the tfjs kernel attributes carry none, so tfjs always passes 1).
 *
 * Main path (stride 1 or dilation 1): the filter gradient is itself a convolution,
 * `dW[i, j, ci, co] = Σ_{n, y, x} xPad[n, y·s + i·d, x·s + j·d, ci] · dy[n, y, x, co]`, so the
 * input transposed to `[Cin, H, W, N]` is convolved (padded by the convolution itself, or cropped
 * first when the taps never read some rows, then 'valid'; stride d, dilation s) with
 * `dy` transposed to `[outH, outW, N, Cout]` as the filter, giving `[Cin, fh, fw, Cout]`, which is
 * transposed back: one XNNPACK `Conv2D` and three `Transpose`s (5-10x faster than per-tap windows).
 * When both stride and dilation exceed 1 (tfjs' Conv2D rejects that), one `BatchMatMul` per kernel
 * tap: `dW[i, j] = windowᵀ · dy`.
 */
export const conv2DBackpropFilterKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { filterShape } = attrs as unknown as { filterShape: [number, number, number, number] };
  const g = backpropGeometry(attrs, x.shape, filterShape, false, 'Conv2DBackpropFilter');
  const stride1 = g.strideHeight === 1 && g.strideWidth === 1;
  const dilation1 = g.dilationHeight === 1 && g.dilationWidth === 1;
  return composite(backend as tf.KernelBackend, (s) =>
    stride1 || dilation1 ? asConvolution(s, x, dy, g) : perTap(s, x, dy, g, filterShape),
  );
};

function asConvolution(
  s: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  // The rows and columns the taps read beyond the input (negative: never read, cropped).
  const { top, left } = g.padInfo;
  const needH = (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1;
  const needW = (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1;
  const bottom = needH - g.inHeight - top;
  const right = needW - g.inWidth - left;
  // Zero padding only (the usual case): the convolution pads (no `PadV2` copy of the input).
  const padOnly = top >= 0 && left >= 0 && bottom >= 0 && right >= 0;
  const xp = padOnly ? x : padForTaps(s, x, g);
  const xt = s.run('Transpose', { x: xp }, { perm: [3, 1, 2, 0] });
  const dyt = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const r = s.run(
    'Conv2D',
    { x: xt, filter: dyt },
    {
      strides: [g.dilationHeight, g.dilationWidth],
      dilations: [g.strideHeight, g.strideWidth],
      pad: padOnly
        ? [
            [0, 0],
            [top, bottom],
            [left, right],
            [0, 0],
          ]
        : 'valid',
      dataFormat: 'NHWC',
    },
  );
  // r: [Cin, fh, fw, Cout] (the padded extent makes the 'valid' output exactly fh × fw)
  return s.run('Transpose', { x: r }, { perm: [1, 2, 0, 3] });
}

function perTap(
  s: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: tf.backend_util.Conv2DInfo,
  filterShape: [number, number, number, number],
): tf.TensorInfo {
  const [fh, fw, cin, cout] = filterShape;
  const m = g.batchSize * g.outHeight * g.outWidth;
  const dy3 = s.reshape(dy, [1, m, cout]);
  const taps: tf.TensorInfo[] = [];
  forEachTap(s, x, g, (_i, _j, window) => {
    const w3 = s.reshape(window, [1, m, cin]);
    taps.push(s.run('BatchMatMul', { a: w3, b: dy3 }, { transposeA: true, transposeB: false }));
  });
  const all = taps.length === 1 ? (taps[0] as tf.TensorInfo) : s.run('Concat', taps, { axis: 0 });
  return s.reshape(all, [fh, fw, cin, cout]);
}
