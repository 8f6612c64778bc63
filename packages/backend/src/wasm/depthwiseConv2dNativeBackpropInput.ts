import type * as tf from '@tensorflow/tfjs-core';
import { backpropGeometry, spreadForTransposedConv } from './convTaps';
import { composite } from './kernelScope';

/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (missing in tfjs-backend-wasm 4.22):
 * the transposed depthwise convolution. `dy` is upsampled by the stride (zeros in between, via
 * `PadV2` on a reshaped view), padded (by the convolution itself) or cropped so that the correlation
 * lines up with the forward padding, and correlated by the wasm `DepthwiseConv2dNative` kernel (same dilation,
 * stride 1) with the spatially flipped filter viewed as `[fh, fw, Cin·mult, 1]`; the channel
 * multiplier axis is then summed. NHWC; strides, dilations, 'same'/'valid'/explicit padding.
 */
export const depthwiseConv2dNativeBackpropInputKernel: tf.KernelFunc = ({
  inputs,
  backend,
  attrs,
}) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { inputShape } = attrs as unknown as { inputShape: [number, number, number, number] };
  const g = backpropGeometry(
    attrs,
    inputShape,
    filter.shape,
    true,
    'DepthwiseConv2dNativeBackpropInput',
  );
  const [fh, fw, cin, mult] = filter.shape as [number, number, number, number];
  const { batchSize: n, dilationHeight: dh, dilationWidth: dw } = g;
  const cm = cin * mult;
  return composite(backend as tf.KernelBackend, (s) => {
    const z = spreadForTransposedConv(s, dy, g);
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const f = s.reshape(flipped, [fh, fw, cm, 1]);
    const conv = s.run(
      'DepthwiseConv2dNative',
      { x: z.x, filter: f },
      {
        strides: [1, 1],
        pad: z.pad,
        dilations: [dh, dw],
        dimRoundingMode: undefined,
        dataFormat: 'NHWC',
      },
    );
    if (mult === 1) return conv;
    const split = s.reshape(conv, [n, g.inHeight, g.inWidth, cin, mult]);
    return s.run('Sum', { x: split }, { axis: [4], keepDims: false });
  });
};
