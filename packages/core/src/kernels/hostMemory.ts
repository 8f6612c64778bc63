import * as tf from '@tensorflow/tfjs-core';

/** What the cpu backend offers a JavaScript kernel (tfjs-backend-cpu 4.x). */
interface CpuLike {
  data: { get(dataId: object): { values: tf.backend_util.TypedArray } | undefined };
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: tf.backend_util.TypedArray,
  ): tf.TensorInfo;
}

/** What the wasm backend offers a JavaScript kernel (tfjs-backend-wasm 4.x). */
interface WasmLike {
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The backends whose tensors live in host memory, where the fused loss kernels run. */
export const HOST_BACKENDS = ['cpu', 'wasm'] as const;

/** A tensor's values, read in place (no copy) from the cpu or wasm backend. Internal. */
export function hostValues(
  backend: tf.KernelBackend,
  t: tf.TensorInfo,
): tf.backend_util.TypedArray {
  const wasm = backend as unknown as Partial<WasmLike>;
  if (typeof wasm.typedArrayFromHeap === 'function') return wasm.typedArrayFromHeap(t);
  const cpu = backend as unknown as CpuLike;
  const entry = cpu.data.get(t.dataId);
  if (entry === undefined) throw new Error('@relkd/core: a fused kernel got a disposed tensor.');
  return entry.values;
}

/** A new float32 output of the given shape filled by `fill` (which receives its storage). */
export function hostOutput(
  backend: tf.KernelBackend,
  shape: number[],
  fill: (out: Float32Array) => void,
): tf.TensorInfo {
  const wasm = backend as unknown as Partial<WasmLike>;
  if (typeof wasm.makeOutput === 'function' && typeof wasm.typedArrayFromHeap === 'function') {
    const info = wasm.makeOutput(shape, 'float32');
    fill(wasm.typedArrayFromHeap(info) as Float32Array);
    return info;
  }
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fill(values);
  return (backend as unknown as CpuLike).makeTensorInfo(shape, 'float32', values);
}

let fusedEnabled = true;

/** Turns the fused host kernels off (`false`: composite path everywhere). Internal, for tests. */
export function setFusedKernels(enabled: boolean): void {
  fusedEnabled = enabled;
}

/**
 * Registers a fused kernel for the host backends once (idempotent). Returns whether the current
 * backend can run it; other backends (webgl, webgpu, tensorflow) use the composite path.
 */
export function hasHostKernel(kernelName: string, kernelFunc: tf.KernelFunc): boolean {
  if (!fusedEnabled) return false;
  const backendName = tf.getBackend();
  if (!(HOST_BACKENDS as readonly string[]).includes(backendName)) return false;
  if (tf.getKernel(kernelName, backendName) === undefined) {
    tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
  return true;
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

/** What a `tf.customGrad` body returns. */
interface CustomGradResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * The fused path of a two-input loss inside a `tf.customGrad` body: runs `kernelName` (outputs
 * `[value, dValue/dInput0]`), saves the gradient, and returns the body's result, whose backward
 * is `dy · gradient` for the first input and zeros for the second (targets / teacher). Returns
 * `undefined` where the current backend has no host kernel (use the composite path). Internal.
 */
export function fusedHostLoss(
  kernelName: string,
  kernelFunc: tf.KernelFunc,
  inputs: tf.NamedTensorMap,
  attrs: tf.NamedAttrMap,
  save: tf.GradSaveFunc,
): CustomGradResult | undefined {
  if (!hasHostKernel(kernelName, kernelFunc)) return undefined;
  const [value, grad] = tf.engine().runKernel(kernelName, inputs, attrs) as [tf.Scalar, tf.Tensor];
  save([grad]);
  return {
    value,
    gradFunc: (dy, saved) => {
      const g = saved[0] as tf.Tensor;
      return [tf.mul(g, dy), tf.zerosLike(g)];
    },
  };
}
