import type * as tf from '@tensorflow/tfjs-core';
import { backpropGeometry } from './convTaps';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing in tfjs-backend-wasm 4.22):
 * one pass in JavaScript over the wasm heap,
 * `dW[i, j, c, k] = Σ_{n, y, x} xPadded[n, y·sh + i·dh, x·sw + j·dw, c] · dy[n, y, x, c·mult + k]`,
 * summed in float64 in the order of `(n, y, x)` (taps that fall in the padding add nothing), then
 * rounded once to float32. NHWC; strides, dilations, 'same'/'valid'/explicit padding, any
 * multiplier. With multiplier 1 (separable convolutions) each output row `(n, y)` runs tap by tap
 * over the `x` range where the tap is inside the image (no per-pixel bounds checks), four channels
 * at a time in local float64 sums: every filter entry still adds its products in the same
 * `(n, y, x)` order, so the result is bit-identical to the plain loop ({@link depthwiseFilterGradPlain},
 * the tested reference).
 *
 * It replaces a composite of per-tap transposes and a `[Cin, 1, N·outH·outW]` batched matmul,
 * which took 60 % of a CORSD training step (relation networks' separable convolutions) on wasm.
 */
export const depthwiseConv2dNativeBackpropFilterKernel: tf.KernelFunc = (args) =>
  filterGradient(args, true);

/**
 * The same kernel with the plain loop for every multiplier ({@link depthwiseFilterGradPlain}: the
 * kernel as it was before the row-wise loop). Internal: the reference of the end-to-end tests.
 */
export const depthwiseConv2dNativeBackpropFilterPlainKernel: tf.KernelFunc = (args) =>
  filterGradient(args, false);

function filterGradient(
  { inputs, backend, attrs }: Parameters<tf.KernelFunc>[0],
  rowWise: boolean,
): tf.TensorInfo {
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
  const geometry = { ...g, filterHeight: fh, filterWidth: fw, inChannels: cin, mult };
  if (rowWise && mult === 1) depthwiseFilterGradRows(xv, dv, geometry, acc);
  else depthwiseFilterGradPlain(xv, dv, geometry, acc);
  dwv.set(acc);
  return out;
}

/** What the filter-gradient loops need of a depthwise convolution (NHWC, filter `[fh, fw, cin, mult]`). */
export interface DepthwiseFilterGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padInfo: { top: number; left: number };
  filterHeight: number;
  filterWidth: number;
  inChannels: number;
  mult: number;
}

/**
 * The plain loop: `acc[i, j, c, k] += x[n, y·sh + i·dh − top, x·sw + j·dw − left, c] · dy[n, y, x,
 * c·mult + k]` over `n`, `y`, `x` in that order, then the taps; float64 `acc` (zeroed by the
 * caller). Exported for tests (the reference of {@link depthwiseFilterGradRows}).
 */
export function depthwiseFilterGradPlain(
  xv: ArrayLike<number>,
  dv: ArrayLike<number>,
  geometry: DepthwiseFilterGeometry,
  acc: Float64Array,
): void {
  const { batchSize, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = geometry;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dwi } = geometry;
  const { filterHeight: fh, filterWidth: fw, inChannels: cin, mult } = geometry;
  const { top, left } = geometry.padInfo;
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
}

/**
 * Multiplier 1: the products of {@link depthwiseFilterGradPlain} added to each `acc[i, j, c]` in
 * the same `(n, y, x)` order (so the float64 sums are the same bits), organised for speed: per
 * output row `(n, y)` and tap `(i, j)`, only the `x` range whose tap is inside the image, four
 * channels at a time in local sums. Exported for tests.
 */
export function depthwiseFilterGradRows(
  xv: ArrayLike<number>,
  dv: ArrayLike<number>,
  geometry: DepthwiseFilterGeometry,
  acc: Float64Array,
): void {
  const { batchSize, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = geometry;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dwi } = geometry;
  const { filterHeight: fh, filterWidth: fw, inChannels: cin } = geometry;
  const { top, left } = geometry.padInfo;
  // the output columns [lo, hi) whose tap j reads inside the image
  const xLo = new Int32Array(fw);
  const xHi = new Int32Array(fw);
  for (let j = 0; j < fw; j++) {
    const off = j * dwi - left; // input column of output column 0
    xLo[j] = Math.min(ow, Math.max(0, Math.ceil(-off / sw)));
    xHi[j] = Math.max(0, Math.min(ow, Math.floor((w - 1 - off) / sw) + 1));
  }
  const xStep = sw * cin;
  const c4 = cin - (cin % 4);
  for (let n = 0; n < batchSize; n++) {
    const xBatch = n * h * w * cin;
    for (let oy = 0; oy < oh; oy++) {
      const dyRow = (n * oh + oy) * ow * cin;
      for (let i = 0; i < fh; i++) {
        const yy = oy * sh - top + i * dh;
        if (yy < 0 || yy >= h) continue;
        const xRow = xBatch + yy * w * cin;
        for (let j = 0; j < fw; j++) {
          const lo = xLo[j] as number;
          const hi = xHi[j] as number;
          if (lo >= hi) continue;
          const accBase = (i * fw + j) * cin;
          const xFirst = xRow + (lo * sw + j * dwi - left) * cin;
          const dyFirst = dyRow + lo * cin;
          for (let c = 0; c < c4; c += 4) {
            const a = accBase + c;
            let s0 = acc[a] as number;
            let s1 = acc[a + 1] as number;
            let s2 = acc[a + 2] as number;
            let s3 = acc[a + 3] as number;
            let xb = xFirst + c;
            let db = dyFirst + c;
            for (let ox = lo; ox < hi; ox++, xb += xStep, db += cin) {
              s0 += (xv[xb] as number) * (dv[db] as number);
              s1 += (xv[xb + 1] as number) * (dv[db + 1] as number);
              s2 += (xv[xb + 2] as number) * (dv[db + 2] as number);
              s3 += (xv[xb + 3] as number) * (dv[db + 3] as number);
            }
            acc[a] = s0;
            acc[a + 1] = s1;
            acc[a + 2] = s2;
            acc[a + 3] = s3;
          }
          for (let c = c4; c < cin; c++) {
            let s0 = acc[accBase + c] as number;
            let xb = xFirst + c;
            let db = dyFirst + c;
            for (let ox = lo; ox < hi; ox++, xb += xStep, db += cin) {
              s0 += (xv[xb] as number) * (dv[db] as number);
            }
            acc[accBase + c] = s0;
          }
        }
      }
    }
  }
}
