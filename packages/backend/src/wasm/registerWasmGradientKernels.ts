import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulKernel } from './batchMatMul';
import { WASM_BATCH_NORM_KERNELS } from './batchNormTrain';
import { binaryKernel, FAST_BINARY_KERNELS } from './binaryOps';
import { castKernel } from './cast';
import { conv2DBackpropFilterKernel } from './conv2DBackpropFilter';
import { conv2DBackpropInputKernel } from './conv2DBackpropInput';
import { depthwiseConv2dNativeBackpropFilterKernel } from './depthwiseConv2dNativeBackpropFilter';
import { depthwiseConv2dNativeBackpropInputKernel } from './depthwiseConv2dNativeBackpropInput';
import { gatherV2Kernel } from './gatherV2';
import { identityKernel } from './identity';
import { maxPoolGradKernel } from './maxPoolGrad';
import { meanKernel } from './mean';
import { realDivKernel } from './realDiv';
import { sliceKernel } from './slice';
import { sumKernel } from './sum';
import { transposeKernel } from './transpose';
import { unsortedSegmentSumKernel } from './unsortedSegmentSum';

/** The kernels @relkd/backend adds to the wasm backend, by tfjs kernel name. */
export const WASM_GRADIENT_KERNELS: Readonly<Record<string, tf.KernelFunc>> = {
  Conv2DBackpropFilter: conv2DBackpropFilterKernel,
  DepthwiseConv2dNativeBackpropFilter: depthwiseConv2dNativeBackpropFilterKernel,
  DepthwiseConv2dNativeBackpropInput: depthwiseConv2dNativeBackpropInputKernel,
  UnsortedSegmentSum: unsortedSegmentSumKernel,
};

/**
 * Registers, for the `wasm` backend, the kernels that tfjs-backend-wasm 4.22 lacks and that
 * training needs: `Conv2DBackpropFilter` (conv2d filter gradient),
 * `DepthwiseConv2dNativeBackpropFilter` and `DepthwiseConv2dNativeBackpropInput` (depthwise conv
 * gradients) and `UnsortedSegmentSum` (gather gradient). Each is composed of existing wasm kernels.
 * A kernel that is already registered (e.g. by a newer tfjs-backend-wasm) is left alone.
 *
 * When tfjs-backend-wasm is imported, it also replaces some of its kernels by faster ones with the
 * same values (the README lists them): `BatchMatMul` with a transposed operand,
 * `Conv2DBackpropInput`, `MaxPoolGrad`, `GatherV2`, `Identity` (which then shares its input's
 * buffer instead of copying it), `Sum` over all axes but the last (bias gradients), `Mean` over
 * leading or middle axes (BatchNorm moments, global average pools), `Transpose` of the last two
 * axes where upstream's copy aliases, `RealDiv` by a last-axis vector, `Slice` (which then no
 * longer copies its whole input first), `Cast` to the same dtype (which then shares the buffer)
 * and the binary ops outside XNNPACK, which makes a small CNN's
 * training step about 4.5x faster on wasm. It also registers `RelkdBatchNormTrain` and its
 * gradient `RelkdBatchNormTrainGrad`, which @relkd/core's `BatchNorm` then runs in training mode
 * instead of ~30 composed kernels (same bits).
 *
 * Pass `{ faster: false }` to keep (or restore) tfjs-backend-wasm's own kernels instead.
 *
 * Idempotent; does not need the wasm backend to be imported. Returns the names it registered,
 * replaced or restored.
 *
 * `useBackend` calls it; call it yourself only if you select the backend with `tf.setBackend`.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-wasm';
 * registerGradients();
 * registerWasmGradientKernels();
 * await tf.setBackend('wasm');
 * ```
 */
export function registerWasmGradientKernels(options: { faster?: boolean } = {}): string[] {
  const faster = options.faster ?? true;
  const added: string[] = [];
  for (const [kernelName, kernelFunc] of Object.entries(WASM_GRADIENT_KERNELS)) {
    if (tf.getKernel(kernelName, 'wasm') === undefined) {
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
      added.push(kernelName);
    }
  }
  for (const [kernelName, kernelFunc] of Object.entries(WASM_BATCH_NORM_KERNELS)) {
    if (tf.getKernel(kernelName, 'wasm') === undefined) {
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
      added.push(kernelName);
    }
  }
  for (const [kernelName, wrap] of Object.entries(WASM_FASTER_KERNELS)) {
    if (faster ? replaceKernel(kernelName, wrap) : restoreKernel(kernelName))
      added.push(kernelName);
  }
  return added;
}

/**
 * Kernels of tfjs-backend-wasm 4.22 that @relkd/backend replaces by faster equivalents (same
 * values), by tfjs kernel name: each factory receives the original kernel function (which still
 * serves the geometries the fast path does not cover).
 */
export const WASM_FASTER_KERNELS: Readonly<
  Record<string, (original: tf.KernelFunc) => tf.KernelFunc>
> = {
  BatchMatMul: batchMatMulKernel,
  GatherV2: () => gatherV2Kernel,
  ...Object.fromEntries(FAST_BINARY_KERNELS.map((name) => [name, binaryKernel(name)])),
  Conv2DBackpropInput: conv2DBackpropInputKernel,
  MaxPoolGrad: () => maxPoolGradKernel,
  Identity: identityKernel,
  Sum: sumKernel,
  Mean: meanKernel,
  Transpose: transposeKernel,
  RealDiv: realDivKernel,
  Slice: sliceKernel,
  Cast: castKernel,
};

const WRAPPED = Symbol.for('@relkd/backend:wrapped');

/** tfjs-backend-wasm's own kernel configs, by name, for the ones replaced in this process. */
const originals = new Map<string, tf.KernelConfig>();

/** Replaces a registered wasm kernel once (keeping its setup/dispose); false if nothing to do. */
function replaceKernel(
  kernelName: string,
  wrap: (original: tf.KernelFunc) => tf.KernelFunc,
): boolean {
  const current = tf.getKernel(kernelName, 'wasm');
  if (current === undefined || WRAPPED in current.kernelFunc) return false;
  originals.set(kernelName, current);
  const kernelFunc = Object.assign(wrap(current.kernelFunc), { [WRAPPED]: true });
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ ...current, kernelFunc });
  return true;
}

/** Puts tfjs-backend-wasm's own kernel back; false if it was not replaced. */
function restoreKernel(kernelName: string): boolean {
  const original = originals.get(kernelName);
  const current = tf.getKernel(kernelName, 'wasm');
  if (original === undefined || current === undefined || !(WRAPPED in current.kernelFunc)) {
    return false;
  }
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel(original);
  return true;
}
