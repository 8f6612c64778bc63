import { RelkdError } from '@relkd/core';
import { describeFile, type FileStore } from './FileStore';

/** A browser `File` (or any `Blob` with a name), e.g. from `<input type="file" webkitdirectory>`. */
export interface NamedBlob {
  readonly name: string;
  /** Set by directory pickers: `dir/teacher.json`. Matched on its last part(s). */
  readonly webkitRelativePath?: string;
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/**
 * A {@link FileStore} over browser `File`s (a directory picked with `webkitdirectory`, or files
 * dropped on a page). Files are matched by name (or by the end of their `webkitRelativePath`)
 * and read slice by slice, so a shard is never read whole unless needed.
 *
 * @example
 * ```ts norun
 * const input = document.querySelector('input[type=file]') as HTMLInputElement;
 * const outputs = await TeacherOutputs.open(fromFiles(input.files!));
 * ```
 */
export function fromFiles(files: Iterable<NamedBlob> | ArrayLike<NamedBlob>): FileStore {
  const list = Array.from(files as ArrayLike<NamedBlob>);
  const find = (name: string) =>
    list.find((f) => f.webkitRelativePath?.endsWith(`/${name}`)) ??
    list.find((f) => f.name === name);
  const store: FileStore = {
    location: 'files',
    open: async (name) => {
      const file = find(name);
      if (file === undefined) {
        throw new RelkdError(
          'IO_ERROR',
          `${describeFile(store, name)}: file not found among the ${list.length} given file(s).`,
          { file: name },
        );
      }
      return {
        byteLength: file.size,
        slice: (start, end) => file.slice(start, end ?? file.size).arrayBuffer(),
      };
    },
  };
  return store;
}
