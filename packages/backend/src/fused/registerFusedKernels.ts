import { FUSED_ADAM, FUSED_SOFT_CE, FUSED_SOFTMAX_KL } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { adamUpdateKernel } from './adamUpdate';
import { HOST_BACKENDS } from './hostMemory';
import {
  SELECT_ROWS_GRAD_KERNEL,
  SELECT_ROWS_KERNEL,
  selectRowsGradKernel,
  selectRowsKernel,
} from './selectRows';
import { softCrossEntropyKernel } from './softCrossEntropy';
import { softmaxKlKernel } from './softmaxKl';
import { VIRTUAL_VIEW_KERNEL, virtualViewKernel } from './virtualView';

/**
 * The fused host kernels of @relkd/backend, by the kernel name the relkd packages look up
 * (`RelkdSoftmaxKl`: KL / KD loss, `RelkdSoftCrossEntropy`: cross-entropy, both from @relkd/core;
 * `RelkdVirtualView`: @relkd/affinity-graph's `virtualView`; `RelkdAdam`: one variable's update of
 * @relkd/core's `FusedAdamOptimizer`; `RelkdSelectRows` and its gradient `RelkdSelectRowsGrad`:
 * @relkd/relation-network's pair batches). Each runs in one pass over host memory. Internal.
 */
export const FUSED_KERNELS: Readonly<Record<string, tf.KernelFunc>> = {
  [FUSED_SOFTMAX_KL]: softmaxKlKernel,
  [FUSED_SOFT_CE]: softCrossEntropyKernel,
  [VIRTUAL_VIEW_KERNEL]: virtualViewKernel,
  [FUSED_ADAM]: adamUpdateKernel,
  [SELECT_ROWS_KERNEL]: selectRowsKernel,
  [SELECT_ROWS_GRAD_KERNEL]: selectRowsGradKernel,
};

/**
 * Registers the fused loss kernels for the backends whose tensors live in host memory (`cpu`,
 * `wasm`): `kdLoss`/`klDivergence` then run as one `RelkdSoftmaxKl` kernel and
 * `crossEntropy`/`softCrossEntropy` as one `RelkdSoftCrossEntropy` kernel, value and gradient in
 * one pass with float64 accumulation (same values as the composed ops to float32 rounding), and
 * @relkd/affinity-graph's `virtualView` as one `RelkdVirtualView` kernel (bit-identical to its
 * composed ops), and `FusedAdamOptimizer` updates each variable with one `RelkdAdam` kernel
 * (bit-identical to `tf.train.adam`), and @relkd/relation-network selects CORSD's pair rows with
 * `RelkdSelectRows` / `RelkdSelectRowsGrad` (bit-identical to its one-hot matrix product and that
 * product's gradient). On other backends, or without this call, the packages compose
 * tfjs-core ops.
 *
 * Idempotent; does not need the backends to be imported. Returns how many kernels it registered.
 * `useBackend` (and the `@relkd/backend/gradients` entry) call it; call it yourself only if you
 * select the backend with `tf.setBackend` and import neither.
 *
 * @example
 * ```ts
 * registerFusedKernels();
 * await tf.setBackend('cpu');
 * kdLoss(tf.tensor2d([[1, 0]]), tf.tensor2d([[0, 1]])); // one RelkdSoftmaxKl kernel
 * ```
 */
export function registerFusedKernels(): number {
  let added = 0;
  for (const backendName of HOST_BACKENDS) {
    for (const [kernelName, kernelFunc] of Object.entries(FUSED_KERNELS)) {
      if (tf.getKernel(kernelName, backendName) === undefined) {
        tf.registerKernel({ kernelName, backendName, kernelFunc });
        added++;
      }
    }
  }
  return added;
}
