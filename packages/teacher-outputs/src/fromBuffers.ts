import { RelkdError } from '@relkd/core';
import { describeFile, type FileStore, type RandomAccessFile } from './FileStore';

/** Wraps bytes as a {@link RandomAccessFile}. */
export function bufferFile(bytes: ArrayBuffer | Uint8Array): RandomAccessFile {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return {
    byteLength: view.byteLength,
    // A copy (Node's Buffer#slice would return a view of a shared pool).
    slice: async (start, end) => {
      const part = view.subarray(start, end ?? view.byteLength);
      const copy = new Uint8Array(part.byteLength);
      copy.set(part);
      return copy.buffer;
    },
  };
}

/**
 * A {@link FileStore} over in-memory files, name -> bytes (e.g. files a test or a worker already
 * holds). A missing name rejects with `IO_ERROR`.
 *
 * @example
 * ```ts
 * const outputs = await TeacherOutputs.open(fromBuffers({ 'teacher.json': manifestBytes, 'index-0.npy': ... }));
 * ```
 */
export function fromBuffers(files: Record<string, ArrayBuffer | Uint8Array>): FileStore {
  const store: FileStore = {
    location: 'memory',
    open: async (name) => {
      const bytes = Object.hasOwn(files, name) ? files[name] : undefined;
      if (bytes === undefined) {
        throw new RelkdError('IO_ERROR', `${describeFile(store, name)}: file not found.`, {
          file: name,
        });
      }
      return bufferFile(bytes);
    },
  };
  return store;
}
