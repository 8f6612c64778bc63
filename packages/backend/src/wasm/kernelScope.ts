import { RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './wasmHeap';

type Attrs = Record<string, unknown>;

/**
 * Runs registered `wasm` kernels directly (no engine, no tape) and owns their outputs, so a
 * composite kernel can release every intermediate before it returns. Internal.
 */
export class KernelScope {
  private readonly owned: tf.TensorInfo[] = [];

  constructor(readonly backend: tf.KernelBackend) {}

  /** Calls kernel `name` of the wasm backend; its output is released by {@link finish}. */
  run(
    name: string,
    inputs: Record<string, tf.TensorInfo> | tf.TensorInfo[],
    attrs: Attrs = {},
  ): tf.TensorInfo {
    const kernel = tf.getKernel(name, 'wasm');
    if (kernel === undefined) {
      throw new Error(`@relkd/backend: the wasm backend has no '${name}' kernel to build on.`);
    }
    return this.call(kernel.kernelFunc, inputs, attrs);
  }

  /** Calls a kernel function directly (e.g. the one a patched kernel replaced); owned like {@link run}. */
  call(
    kernelFunc: tf.KernelFunc,
    inputs: Record<string, tf.TensorInfo> | tf.TensorInfo[],
    attrs: Attrs = {},
  ): tf.TensorInfo {
    const out = kernelFunc({
      inputs: inputs as unknown as tf.NamedTensorInfoMap,
      backend: this.backend,
      attrs: attrs as tf.NamedAttrMap,
    }) as tf.TensorInfo;
    this.owned.push(out);
    return out;
  }

  /** A tensor written from JS values; released by {@link finish}. */
  write(
    values: Float32Array | Int32Array,
    shape: number[],
    dtype: 'float32' | 'int32',
  ): tf.TensorInfo {
    const dataId = this.backend.write(values, shape, dtype);
    const info: tf.TensorInfo = { dataId, shape, dtype };
    this.owned.push(info);
    return info;
  }

  /**
   * A new, uninitialised float32 tensor on the wasm heap for JavaScript to fill (view it with
   * `typedArrayFromHeap` after the last allocation); released by {@link finish}.
   */
  alloc(shape: number[]): tf.TensorInfo {
    const info = (this.backend as unknown as WasmHeapBackend).makeOutput(shape, 'float32');
    this.owned.push(info);
    return info;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** Releases one intermediate now (to keep peak memory low inside loops). */
  release(t: tf.TensorInfo): void {
    const i = this.owned.indexOf(t);
    if (i >= 0) {
      this.owned.splice(i, 1);
      this.backend.disposeData(t.dataId);
    }
  }

  /** Releases every intermediate except `keep` (the kernel's output or outputs). */
  finish(keep?: tf.TensorInfo | readonly tf.TensorInfo[]): void {
    const kept = keep === undefined ? [] : Array.isArray(keep) ? keep : [keep];
    for (const t of this.owned) if (!kept.includes(t)) this.backend.disposeData(t.dataId);
    this.owned.length = 0;
  }
}

/**
 * Wraps a composite kernel body: intermediates are released on success (all but the result) and
 * on throw (all).
 */
export function composite(
  backend: tf.KernelBackend,
  body: (s: KernelScope) => tf.TensorInfo,
): tf.TensorInfo {
  const s = new KernelScope(backend);
  let out: tf.TensorInfo | undefined;
  try {
    out = body(s);
    return out;
  } finally {
    s.finish(out);
  }
}

/**
 * Pads (positive amounts) or crops (negative amounts) axes 1 and 2 of an NHWC tensor.
 * `before`/`after` are `[rows, cols]`.
 */
export function padOrCrop(
  s: KernelScope,
  x: tf.TensorInfo,
  before: [number, number],
  after: [number, number],
): tf.TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  let y = x;
  const padB = before.map((v) => Math.max(0, v));
  const padA = after.map((v) => Math.max(0, v));
  if (padB.some((v) => v > 0) || padA.some((v) => v > 0)) {
    y = s.run(
      'PadV2',
      { x: y },
      {
        paddings: [
          [0, 0],
          [padB[0], padA[0]],
          [padB[1], padA[1]],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
  }
  const cropB = before.map((v) => Math.max(0, -v)) as [number, number];
  const cropA = after.map((v) => Math.max(0, -v)) as [number, number];
  if (cropB.some((v) => v > 0) || cropA.some((v) => v > 0)) {
    const hh = h + before[0] + after[0];
    const ww = w + before[1] + after[1];
    y = s.run('Slice', { x: y }, { begin: [0, cropB[0], cropB[1], 0], size: [n, hh, ww, c] });
  }
  return y;
}

/** Throws for layouts the composite kernels do not implement. */
export function assertChannelsLast(dataFormat: unknown, kernel: string): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new RelkdError(
      'INVALID_OPTION',
      `The wasm ${kernel} kernel of @relkd/backend supports only NHWC ('channelsLast') data, got dataFormat ${String(dataFormat)}. ` +
        'Transpose to NHWC, or train on the cpu backend.',
      { kernel, dataFormat },
    );
  }
}
