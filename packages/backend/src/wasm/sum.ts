import type * as tf from '@tensorflow/tfjs-core';
import { columnSums } from './columnSums';

/**
 * `Sum` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`: where
 * {@link columnSums} applies (consecutive reduced axes in ascending order followed by a kept axis,
 * e.g. the bias gradient of a dense or conv layer over every axis but the last, `[N, H, W, C] ->
 * [C]`), the sums are one JavaScript pass over the wasm heap (sixteen channels at a time in
 * float32 accumulators) instead of a transpose of the whole tensor followed by the reduction.
 * Same order of additions, each rounded to float32, so the same bits as upstream; 2-4x faster on
 * MNIST-sized maps (0.68 → 0.30 ms for `[64, 28, 28, 8]`). Every other reduction runs `original`.
 */
export function sumKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => columnSums(args)?.out ?? original(args);
}
