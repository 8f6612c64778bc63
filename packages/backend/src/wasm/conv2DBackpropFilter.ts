import type * as tf from '@tensorflow/tfjs-core';
import { backpropGeometry, forEachTap } from './convTaps';
import { composite } from './kernelScope';

/**
 * `Conv2DBackpropFilter` for the wasm backend (tfjs-backend-wasm 4.22 has none), composed of
 * existing wasm kernels: for every kernel tap `(i, j)` a strided window of the padded input
 * (`Slice`/`StridedSlice`, `[N·outH·outW, Cin]`) is multiplied with `dy` (`[N·outH·outW, Cout]`)
 * by one `BatchMatMul`, giving `dW[i, j] = windowᵀ · dy`. NHWC only; strides, 'same'/'valid'/
 * explicit padding; `dilations` honoured when present in the attributes (the tfjs kernel
 * attributes carry none, so tfjs always passes dilation 1).
 */
export const conv2DBackpropFilterKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { filterShape } = attrs as unknown as { filterShape: [number, number, number, number] };
  const g = backpropGeometry(attrs, x.shape, filterShape, false, 'Conv2DBackpropFilter');
  const [fh, fw, cin, cout] = filterShape;
  const m = g.batchSize * g.outHeight * g.outWidth;
  return composite(backend as tf.KernelBackend, (s) => {
    const dy3 = s.reshape(dy, [1, m, cout]);
    const taps: tf.TensorInfo[] = [];
    forEachTap(s, x, g, (_i, _j, window) => {
      const w3 = s.reshape(window, [1, m, cin]);
      taps.push(s.run('BatchMatMul', { a: w3, b: dy3 }, { transposeA: true, transposeB: false }));
    });
    const all = taps.length === 1 ? (taps[0] as tf.TensorInfo) : s.run('Concat', taps, { axis: 0 });
    return s.reshape(all, [fh, fw, cin, cout]);
  });
};
