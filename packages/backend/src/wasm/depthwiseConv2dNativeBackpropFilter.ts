import type * as tf from '@tensorflow/tfjs-core';
import { backpropGeometry, forEachTap } from './convTaps';
import { composite } from './kernelScope';

/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing in tfjs-backend-wasm 4.22).
 * For every tap `(i, j)` the strided window of the padded input is rearranged to
 * `[Cin, 1, N·outH·outW]` and multiplied, one batch entry per input channel, with `dy` as
 * `[Cin, N·outH·outW, mult]` (`BatchMatMul`), giving `dW[i, j, c, :]`. NHWC; strides, dilations,
 * 'same'/'valid'/explicit padding.
 */
export const depthwiseConv2dNativeBackpropFilterKernel: tf.KernelFunc = ({
  inputs,
  backend,
  attrs,
}) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { filterShape } = attrs as unknown as { filterShape: [number, number, number, number] };
  const g = backpropGeometry(
    attrs,
    x.shape,
    filterShape,
    true,
    'DepthwiseConv2dNativeBackpropFilter',
  );
  const [fh, fw, cin, mult] = filterShape;
  const m = g.batchSize * g.outHeight * g.outWidth;
  return composite(backend as tf.KernelBackend, (s) => {
    // dy [N,oh,ow,cin*mult] -> [m, cin, mult] -> [cin, m, mult]
    const dyT = s.run('Transpose', { x: s.reshape(dy, [m, cin, mult]) }, { perm: [1, 0, 2] });
    const taps: tf.TensorInfo[] = [];
    forEachTap(s, x, g, (_i, _j, window) => {
      // window [N,oh,ow,cin] -> [m, cin] -> [cin, m] -> [cin, 1, m]
      const wT = s.run('Transpose', { x: s.reshape(window, [m, cin]) }, { perm: [1, 0] });
      const prod = s.run(
        'BatchMatMul',
        { a: s.reshape(wT, [cin, 1, m]), b: dyT },
        { transposeA: false, transposeB: false },
      );
      taps.push(prod); // [cin, 1, mult]
    });
    const all = taps.length === 1 ? (taps[0] as tf.TensorInfo) : s.run('Concat', taps, { axis: 1 }); // [cin, K, mult]
    const perm = s.run('Transpose', { x: all }, { perm: [1, 0, 2] }); // [K, cin, mult]
    return s.reshape(perm, [fh, fw, cin, mult]);
  });
};
