/** A file opened for random reads (the shape of hyparquet's `AsyncBuffer`). */
export interface RandomAccessFile {
  /** Size in bytes. */
  readonly byteLength: number;
  /** Bytes `[start, end)` (`end` defaults to the end of the file). */
  slice(start: number, end?: number): Promise<ArrayBuffer>;
}

/**
 * Where the files of a teacher-outputs directory come from: a Node directory
 * (`fromDirectory` in `@relkd/teacher-outputs/node`), a URL prefix ({@link fromUrl}), browser
 * `File`s ({@link fromFiles}) or in-memory buffers ({@link fromBuffers}). Implement it for any
 * other storage (object stores, IndexedDB).
 */
export interface FileStore {
  /** Where the files are, for messages: a directory path, a URL, `'files'`, `'memory'`. */
  readonly location: string;
  /**
   * Opens `name` (a relative name from the manifest). Rejects with `RelkdError` `IO_ERROR`
   * naming the file when it is missing or unreadable.
   */
  open(name: string): Promise<RandomAccessFile>;
}

/** `location/name` for messages. */
export function describeFile(store: FileStore, name: string): string {
  return `${store.location.replace(/\/+$/, '')}/${name}`;
}
