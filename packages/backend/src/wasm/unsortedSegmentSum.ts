import * as tf from '@tensorflow/tfjs-core';
import { composite } from './kernelScope';

/**
 * `UnsortedSegmentSum` for the wasm backend (missing in tfjs-backend-wasm 4.22; the gradient of
 * `gather` needs it). `out[s, ...] = Σ_{k: ids[k] = s} x[k, ...]`, computed by the wasm `ScatterNd`
 * kernel (which sums duplicate indices). Ids outside `[0, numSegments)` are dropped, as on the
 * cpu backend: the ids are read (they are small int32 vectors) and, only if some are out of range,
 * the valid rows are gathered first so `ScatterNd` never sees an out-of-range index.
 */
export const unsortedSegmentSumKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const k = tf.util.sizeFromShape(segmentIds.shape);
  const rest = x.shape.slice(segmentIds.shape.length);
  const r = tf.util.sizeFromShape(rest);
  const outShape = [numSegments, ...rest];
  const dtype = x.dtype === 'int32' ? 'int32' : 'float32';
  return composite(backend as tf.KernelBackend, (s) => {
    const ids = (backend as tf.KernelBackend).readSync(segmentIds.dataId) as ArrayLike<number>;
    const valid: number[] = [];
    for (let i = 0; i < k; i++) {
      const id = ids[i] as number;
      if (id >= 0 && id < numSegments) valid.push(i);
    }
    if (valid.length === 0 || r === 0) {
      const zeros =
        dtype === 'int32' ? new Int32Array(numSegments * r) : new Float32Array(numSegments * r);
      return s.write(zeros, outShape, dtype);
    }
    let rows = s.reshape(x, [k, r]);
    let idx = s.reshape(segmentIds, [k, 1]);
    if (valid.length < k) {
      const pos = s.write(Int32Array.from(valid), [valid.length], 'int32');
      rows = s.run('GatherV2', { x: rows, indices: pos }, { axis: 0, batchDims: 0 });
      idx = s.write(
        Int32Array.from(valid, (i) => ids[i] as number),
        [valid.length, 1],
        'int32',
      );
    } else if (segmentIds.dtype !== 'int32') {
      idx = s.run('Cast', { x: idx }, { dtype: 'int32' });
    }
    const out = s.run('ScatterNd', { indices: idx, updates: rows }, { shape: [numSegments, r] });
    return s.reshape(out, outShape);
  });
};
