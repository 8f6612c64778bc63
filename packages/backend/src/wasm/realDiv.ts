import type * as tf from '@tensorflow/tfjs-core';
import { rowBroadcast } from './rowBroadcast';

/**
 * `RealDiv` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`: a float32 tensor
 * divided by a vector along its last axis (BatchNorm's `(x − mean) / sqrt(var + ε)`, `[N, H, W, C]
 * / [C]`) runs `original` on rows of ≥ 256 values with the vector tiled ({@link rowBroadcast}),
 * instead of XNNPACK's row-by-row broadcast over rows of C values. Each output is the same
 * float32 division of the same two values: the same bits. Everything else runs `original`.
 */
export function realDivKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => rowBroadcast(original, args, false) ?? original(args);
}
