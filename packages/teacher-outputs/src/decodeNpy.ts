import { RelkdError } from '@relkd/core';

/** The element types the offline-teacher format uses in `.npy` files. */
export type NpyDtype = 'float32' | 'int64' | 'int32';

/** A decoded `.npy` array: C-order data and its shape. */
export interface NpyArray {
  /** `float32` -> `Float32Array`; `int64` and `int32` -> `Int32Array` of the values (see {@link decodeNpy}). */
  data: Float32Array | Int32Array;
  dtype: NpyDtype;
  shape: number[];
}

/** The first six bytes of every `.npy` file (`\x93NUMPY`). */
export const NPY_MAGIC: readonly number[] = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

const DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<i8': 'int64',
  '<i4': 'int32',
};

/**
 * Decodes a NumPy `.npy` file (format versions 1.0, 2.0 and 3.0): the `\x93NUMPY` magic, a
 * header dict (`descr`, `fortran_order`, `shape`) and the little-endian C-order data. Supported
 * dtypes: `<f4` (float32), `<i8` (int64) and `<i4` (int32); int64 values are returned as an
 * `Int32Array` and must lie in `[0, 2^31)` (row indices). `file` names the file in errors.
 *
 * @throws RelkdError `IO_ERROR` (not an `.npy` file, truncated data, Fortran order),
 *   `DTYPE_MISMATCH` (another dtype, big-endian data, an int64 outside `[0, 2^31)`).
 * @example
 * ```ts
 * const { data, shape } = decodeNpy(await (await fetch('logits-0.npy')).arrayBuffer(), 'logits-0.npy');
 * ```
 */
export function decodeNpy(buffer: ArrayBuffer | Uint8Array, file: string): NpyArray {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const fail = (what: string): never => {
    throw new RelkdError('IO_ERROR', `${file}: not a readable .npy file: ${what}.`, { file });
  };
  if (bytes.length < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) fail('no \\x93NUMPY magic');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('truncated header');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`unknown format version ${major}`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) fail('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail(`header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  if (fortran === 'True')
    fail('Fortran-order arrays are not supported (write np.ascontiguousarray)');
  const dtype = DESCR[descr!];
  if (dtype === undefined) {
    throw new RelkdError(
      'DTYPE_MISMATCH',
      `${file}: dtype '${descr}' is not supported; outputs must be little-endian float32 ('<f4'), indices int64 ('<i8') or int32 ('<i4').`,
      { file, dtype: descr },
    );
  }
  const shape = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = dtype === 'int64' ? 8 : 4;
  if (bytes.length - dataStart < count * itemSize)
    fail(
      `truncated data: ${count} values of ${itemSize} bytes need ${count * itemSize} bytes, got ${bytes.length - dataStart}`,
    );
  // A view when the data is 4-byte aligned (numpy pads headers to 64 bytes), else a copy.
  const offset = bytes.byteOffset + dataStart;
  const aligned =
    offset % 4 === 0
      ? bytes.buffer
      : Uint8Array.prototype.slice.call(bytes, dataStart, dataStart + count * itemSize).buffer;
  const at = offset % 4 === 0 ? offset : 0;
  if (dtype === 'float32') return { data: new Float32Array(aligned, at, count), dtype, shape };
  if (dtype === 'int32') return { data: new Int32Array(aligned, at, count), dtype, shape };
  const words = new Int32Array(aligned, at, 2 * count);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const lo = words[2 * i]!;
    const hi = words[2 * i + 1]!;
    if (hi !== 0 || lo < 0) {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `${file}: int64 value at position ${i} is outside [0, 2^31); row indices must be small non-negative integers.`,
        { file, position: i },
      );
    }
    out[i] = lo;
  }
  return { data: out, dtype, shape };
}
