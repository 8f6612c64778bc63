import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RelkdError } from '@relkd/core';
import type { FileStore } from '../FileStore';

/**
 * A {@link FileStore} over a local directory (Node). Files are read slice by slice with
 * `fs.promises` (a Parquet reader reads only the byte ranges it needs); a missing file rejects
 * with `IO_ERROR` naming its path.
 *
 * @example
 * ```ts
 * const outputs = await TeacherOutputs.open(fromDirectory('./teacher-outputs'));
 * ```
 */
export function fromDirectory(dir: string): FileStore {
  const root = resolve(dir);
  return {
    location: root,
    open: async (name) => {
      const path = join(root, name);
      let size: number;
      try {
        const handle = await open(path, 'r');
        try {
          size = (await handle.stat()).size;
        } finally {
          await handle.close();
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new RelkdError(
          'IO_ERROR',
          `${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${(e as Error).message})`}.`,
          { file: name, path },
        );
      }
      return {
        byteLength: size,
        slice: async (start, end) => {
          const stop = Math.min(end ?? size, size);
          const handle = await open(path, 'r');
          try {
            const buf = new Uint8Array(Math.max(0, stop - start));
            let done = 0;
            while (done < buf.length) {
              const { bytesRead } = await handle.read(buf, done, buf.length - done, start + done);
              if (bytesRead === 0) break;
              done += bytesRead;
            }
            return done === buf.length ? buf.buffer : buf.buffer.slice(0, done);
          } finally {
            await handle.close();
          }
        },
      };
    },
  };
}
