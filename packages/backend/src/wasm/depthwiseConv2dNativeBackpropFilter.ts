import type * as tf from '@tensorflow/tfjs-core';
import { backpropGeometry } from './convTaps';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing in tfjs-backend-wasm 4.22):
 * one pass in JavaScript over the wasm heap,
 * `dW[i, j, c, k] = Σ_{n, y, x} xPadded[n, y·sh + i·dh, x·sw + j·dw, c] · dy[n, y, x, c·mult + k]`,
 * summed in float64 (taps that fall in the padding read zero). Channels are innermost, so every
 * read is contiguous. NHWC; strides, dilations, 'same'/'valid'/explicit padding, any multiplier.
 *
 * It replaces a composite of per-tap transposes and a `[Cin, 1, N·outH·outW]` batched matmul,
 * which took 60 % of a CORSD training step (relation networks' separable convolutions) on wasm.
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
  const be = backend as unknown as WasmHeapBackend;
  const out = be.makeOutput(filterShape.slice(), 'float32');
  // Views are taken after makeOutput: allocating may grow (and move) the wasm heap.
  const xv = be.typedArrayFromHeap(x);
  const dv = be.typedArrayFromHeap(dy);
  const dwv = be.typedArrayFromHeap(out);
  const acc = new Float64Array(fh * fw * cin * mult);
  const { batchSize, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = g;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dwi } = g;
  const { top, left } = g.padInfo;
  const cm = cin * mult;
  for (let n = 0; n < batchSize; n++) {
    const xBatch = n * h * w * cin;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - top;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - left;
        const dyBase = ((n * oh + oy) * ow + ox) * cm;
        for (let i = 0; i < fh; i++) {
          const yy = y0 + i * dh;
          if (yy < 0 || yy >= h) continue;
          for (let j = 0; j < fw; j++) {
            const xx = x0 + j * dwi;
            if (xx < 0 || xx >= w) continue;
            const xBase = xBatch + (yy * w + xx) * cin;
            const accBase = (i * fw + j) * cm;
            if (mult === 1) {
              for (let c = 0; c < cin; c++) {
                acc[accBase + c] =
                  (acc[accBase + c] as number) +
                  (xv[xBase + c] as number) * (dv[dyBase + c] as number);
              }
            } else {
              for (let c = 0; c < cin; c++) {
                const xc = xv[xBase + c] as number;
                const o = c * mult;
                for (let k = 0; k < mult; k++) {
                  acc[accBase + o + k] =
                    (acc[accBase + o + k] as number) + xc * (dv[dyBase + o + k] as number);
                }
              }
            }
          }
        }
      }
    }
  }
  dwv.set(acc);
  return out;
};
