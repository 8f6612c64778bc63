import type * as tf from '@tensorflow/tfjs-core';
import { backpropGeometry, spreadForTransposedConv } from './convTaps';
import { composite } from './kernelScope';

/**
 * A faster `Conv2DBackpropInput` for the wasm backend (NHWC), wrapping tfjs-backend-wasm's own
 * kernel `original`, which still serves NCHW data.
 *
 * The input gradient is a transposed convolution: `dy`, upsampled by the stride and padded
 * ({@link spreadForTransposedConv}; the convolution applies the zero padding), correlated (stride
 * 1, the forward dilation) with the filter flipped in space and with its channel axes swapped,
 * `W'[i, j, co, ci] = W[fh-1-i, fw-1-j, ci, co]`. That runs on XNNPACK's convolution, 2-10x
 * faster than the wasm backend's direct loop on MNIST/CIFAR-sized layers.
 */
export function conv2DBackpropInputKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape, dataFormat } = attrs as unknown as {
      inputShape: [number, number, number, number];
      dataFormat?: string;
    };
    if (dataFormat != null && dataFormat !== 'NHWC') return original(args);
    const g = backpropGeometry(attrs, inputShape, filter.shape, false, 'Conv2DBackpropInput');
    return composite(backend as tf.KernelBackend, (s) => {
      const z = spreadForTransposedConv(s, dy, g);
      const swapped = s.run('Transpose', { x: filter }, { perm: [0, 1, 3, 2] });
      const flipped = s.run('Reverse', { x: swapped }, { dims: [0, 1] });
      return s.run(
        'Conv2D',
        { x: z.x, filter: flipped },
        {
          strides: [1, 1],
          dilations: [g.dilationHeight, g.dilationWidth],
          pad: z.pad,
          dataFormat: 'NHWC',
        },
      );
    });
  };
}
