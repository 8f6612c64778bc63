import { RelkdError } from '@relkd/core';
import { NPY_MAGIC, type NpyDtype } from './decodeNpy';

const DESCR_OF: Record<NpyDtype, string> = { float32: '<f4', int64: '<i8', int32: '<i4' };

/**
 * Encodes a C-order array as a NumPy `.npy` file (format 1.0, header padded to 64 bytes), which
 * `numpy.load` reads back. `int64` takes integer values in `[0, 2^31)` (row indices).
 *
 * @example
 * ```ts
 * const bytes = encodeNpy(new Float32Array([1, 2, 3, 4]), [2, 2], 'float32');
 * ```
 */
export function encodeNpy(
  data: Float32Array | Int32Array | ArrayLike<number>,
  shape: readonly number[],
  dtype: NpyDtype,
): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `encodeNpy: shape [${shape.join(', ')}] holds ${count} values but data has ${data.length}.`,
    );
  }
  const shapeText = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${DESCR_OF[dtype]}', 'fortran_order': False, 'shape': (${shapeText}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const itemSize = dtype === 'int64' ? 8 : 4;
  const out = new Uint8Array(10 + header.length + count * itemSize);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const body = out.buffer.slice(10 + header.length);
  if (dtype === 'float32') new Float32Array(body).set(data);
  else if (dtype === 'int32') new Int32Array(body).set(data);
  else {
    const words = new Int32Array(body);
    for (let i = 0; i < count; i++) {
      const v = data[i]!;
      if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
        throw new RelkdError(
          'INVALID_OPTION',
          `encodeNpy: int64 value ${v} at position ${i} is not an integer in [0, 2^31).`,
        );
      }
      words[2 * i] = v;
    }
  }
  out.set(new Uint8Array(body), 10 + header.length);
  return out;
}
