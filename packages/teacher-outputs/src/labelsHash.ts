/**
 * The data set fingerprint of the offline-teacher format: FNV-1a (32-bit) over the labels written
 * as little-endian int32 bytes, in row order, as `'fnv1a32:' + 8 hex digits`. It ties a teacher's
 * outputs to the exact rows (and order) of the training set they were computed on. In NumPy:
 * `h = 0x811c9dc5; for b in labels.astype('<i4').tobytes(): h = ((h ^ b) * 0x01000193) & 0xffffffff`.
 *
 * @example
 * ```ts
 * labelsHash([0, 1, 2]); // 'fnv1a32:…'
 * ```
 */
export function labelsHash(labels: ArrayLike<number>): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]! | 0;
    for (let k = 0; k < 4; k++) {
      h ^= (v >>> (8 * k)) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return `fnv1a32:${h.toString(16).padStart(8, '0')}`;
}
