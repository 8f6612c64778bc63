import type * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from '../wasm/wasmHeap';

/** What the cpu backend offers a JavaScript kernel (tfjs-backend-cpu 4.x). */
interface CpuLike {
  data: { get(dataId: object): { values: tf.backend_util.TypedArray } | undefined };
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: tf.backend_util.TypedArray,
  ): tf.TensorInfo;
}

/** The backends whose tensors live in host memory, where the fused loss kernels run. */
export const HOST_BACKENDS = ['cpu', 'wasm'] as const;

/** A tensor's values, read in place (no copy) from the cpu or wasm backend. Internal. */
export function hostValues(
  backend: tf.KernelBackend,
  t: tf.TensorInfo,
): tf.backend_util.TypedArray {
  const wasm = backend as unknown as Partial<WasmHeapBackend>;
  if (typeof wasm.typedArrayFromHeap === 'function') return wasm.typedArrayFromHeap(t);
  const cpu = backend as unknown as CpuLike;
  const entry = cpu.data.get(t.dataId);
  if (entry === undefined) throw new Error('@relkd/backend: a fused kernel got a disposed tensor.');
  return entry.values;
}

/** A new float32 output of the given shape filled by `fill` (which receives its storage). */
export function hostOutput(
  backend: tf.KernelBackend,
  shape: number[],
  fill: (out: Float32Array) => void,
): tf.TensorInfo {
  return hostOutputs(backend, [shape], ([out]) => fill(out as Float32Array))[0] as tf.TensorInfo;
}

/**
 * New float32 outputs of the given shapes, all allocated before `fill` receives their storage (so
 * that views taken inside `fill` stay valid on wasm, whose heap may move when it grows).
 */
export function hostOutputs(
  backend: tf.KernelBackend,
  shapes: number[][],
  fill: (outs: Float32Array[]) => void,
): tf.TensorInfo[] {
  const wasm = backend as unknown as Partial<WasmHeapBackend>;
  if (typeof wasm.makeOutput === 'function' && typeof wasm.typedArrayFromHeap === 'function') {
    const infos = shapes.map((shape) =>
      (wasm.makeOutput as WasmHeapBackend['makeOutput'])(shape, 'float32'),
    );
    fill(
      infos.map(
        (info) =>
          (wasm.typedArrayFromHeap as WasmHeapBackend['typedArrayFromHeap'])(info) as Float32Array,
      ),
    );
    return infos;
  }
  const arrays = shapes.map((shape) => new Float32Array(shape.reduce((a, b) => a * b, 1)));
  fill(arrays);
  return shapes.map((shape, i) =>
    (backend as unknown as CpuLike).makeTensorInfo(shape, 'float32', arrays[i]),
  );
}

const scratchBuffers: Float64Array[] = [];

/** A reusable float64 row buffer (slot 0 or 1) of at least `n` entries. Internal. */
export function scratch(slot: number, n: number): Float64Array {
  let b = scratchBuffers[slot];
  if (b === undefined || b.length < n) {
    b = new Float64Array(n);
    scratchBuffers[slot] = b;
  }
  return b;
}

/**
 * The outputs of a fused loss kernel: allocates the `[rows, cols]` gradient, lets `body` fill it
 * and return the unscaled total, and returns `[scale · total (scalar), gradient]`. Internal.
 */
export function fusedLossOutputs(
  backend: tf.KernelBackend,
  shape: [number, number],
  scale: number,
  body: (grad: Float32Array) => number,
): tf.TensorInfo[] {
  let total = 0;
  const grad = hostOutput(backend, shape, (g) => {
    total = body(g);
  });
  const value = hostOutput(backend, [], (v) => {
    v[0] = scale * total;
  });
  return [value, grad];
}
