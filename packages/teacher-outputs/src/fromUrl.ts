import { RelkdError } from '@relkd/core';
import type { FileStore } from './FileStore';
import { bufferFile } from './fromBuffers';

/**
 * A {@link FileStore} over HTTP(S): each file is `new URL(name, base)`, fetched whole when opened
 * (one shard at a time, so memory holds one shard's bytes while it is decoded). `init` is passed
 * to `fetch` (headers, credentials). A non-2xx status rejects with `IO_ERROR` naming the URL.
 *
 * @example
 * ```ts norun
 * const outputs = await TeacherOutputs.open(fromUrl('https://example.com/teachers/mnist/'));
 * ```
 */
export function fromUrl(base: string | URL, init?: RequestInit): FileStore {
  const root = new URL(base.toString().endsWith('/') ? base.toString() : `${base.toString()}/`);
  return {
    location: root.toString(),
    open: async (name) => {
      const url = new URL(name, root).toString();
      let response: Response;
      try {
        response = await fetch(url, init);
      } catch (e) {
        throw new RelkdError('IO_ERROR', `${url}: fetch failed: ${(e as Error).message}.`, {
          file: name,
        });
      }
      if (!response.ok) {
        throw new RelkdError(
          'IO_ERROR',
          `${url}: HTTP ${response.status} ${response.statusText}.`,
          {
            file: name,
            status: response.status,
          },
        );
      }
      return bufferFile(await response.arrayBuffer());
    },
  };
}
