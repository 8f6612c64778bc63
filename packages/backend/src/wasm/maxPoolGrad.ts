import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * `MaxPoolGrad` for the wasm backend, replacing tfjs-backend-wasm 4.22's kernel (which is 10-20x
 * slower on MNIST-sized maps) by one pass in JavaScript over the wasm heap: for every output
 * position the first maximum of its window (row-major scan, like tfjs' cpu kernel) receives `dy`.
 * Any 2-D geometry (filter, strides, padding, dimRoundingMode), float32 NHWC.
 */
export const maxPoolGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const g = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const be = backend as unknown as WasmHeapBackend;
  const out = be.makeOutput(input.shape.slice(), 'float32');
  // Views are taken after makeOutput: allocating may grow (and move) the wasm heap.
  const x = be.typedArrayFromHeap(input);
  const d = be.typedArrayFromHeap(dy);
  const dx = be.typedArrayFromHeap(out);
  dx.fill(0);
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = g;
  const { strideHeight: sh, strideWidth: sw, padInfo } = g;
  const fh = g.effectiveFilterHeight;
  const fw = g.effectiveFilterWidth;
  const dh = g.dilationHeight;
  const dw = g.dilationWidth;
  // Per output position: scan the window's pixels, channels innermost (contiguous reads).
  const bestAt = new Int32Array(c);
  const bestValue = new Float32Array(c);
  for (let n = 0; n < batchSize; n++) {
    const xBase = n * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - padInfo.top;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - padInfo.left;
        bestAt.fill(-1);
        for (let i = 0; i < fh; i += dh) {
          const yy = y0 + i;
          if (yy < 0 || yy >= h) continue;
          for (let j = 0; j < fw; j += dw) {
            const xx = x0 + j;
            if (xx < 0 || xx >= w) continue;
            const base = xBase + (yy * w + xx) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch] as number;
              if (v > (bestValue[ch] as number) || (bestAt[ch] as number) < 0) {
                bestAt[ch] = base + ch;
                bestValue[ch] = v;
              }
            }
          }
        }
        const dyBase = ((n * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          const at = bestAt[ch] as number;
          if (at >= 0) dx[at] = (dx[at] as number) + (d[dyBase + ch] as number);
        }
      }
    }
  }
  return out;
};
