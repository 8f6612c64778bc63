import { RelkdError } from '@relkd/core';
import { BACKEND_NAMES, type UseBackendOptions } from './backendTypes';

export function validateUseBackendOptions(name: unknown, options: unknown): void {
  if (typeof name !== 'string' || !(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: unknown backend name ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}.`,
      { name: 'name', expected: BACKEND_NAMES, actual: name },
    );
  }
  if (options === null || typeof options !== 'object') {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`options\` must be an object, got ${String(options)}.`,
      {
        name: 'options',
      },
    );
  }
  const o = options as UseBackendOptions;
  if (o.wasmThreads !== undefined && !(Number.isInteger(o.wasmThreads) && o.wasmThreads >= 1)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`wasmThreads\` must be a positive integer, got ${String(o.wasmThreads)}.`,
      { name: 'wasmThreads', actual: o.wasmThreads },
    );
  }
  if (
    o.wasmPaths !== undefined &&
    typeof o.wasmPaths !== 'string' &&
    (o.wasmPaths === null ||
      typeof o.wasmPaths !== 'object' ||
      Object.values(o.wasmPaths).some((v) => typeof v !== 'string'))
  ) {
    throw new RelkdError(
      'INVALID_OPTION',
      '`wasmPaths` must be a directory prefix string or a map from WASM binary names to URLs.',
      { name: 'wasmPaths' },
    );
  }
  if (
    o.initTimeoutMs !== undefined &&
    !(typeof o.initTimeoutMs === 'number' && o.initTimeoutMs > 0 && !Number.isNaN(o.initTimeoutMs))
  ) {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`initTimeoutMs\` must be a positive number of milliseconds (or Infinity), got ${String(o.initTimeoutMs)}.`,
      { name: 'initTimeoutMs', actual: o.initTimeoutMs },
    );
  }
  if (o.fasterWasmKernels !== undefined && typeof o.fasterWasmKernels !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`fasterWasmKernels\` must be a boolean, got ${String(o.fasterWasmKernels)}.`,
      { name: 'fasterWasmKernels', actual: o.fasterWasmKernels },
    );
  }
  if (o.allowSoftwareAdapter !== undefined && typeof o.allowSoftwareAdapter !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`allowSoftwareAdapter\` must be a boolean, got ${String(o.allowSoftwareAdapter)}.`,
      { name: 'allowSoftwareAdapter', actual: o.allowSoftwareAdapter },
    );
  }
  if (
    o.dawnFlags !== undefined &&
    !(Array.isArray(o.dawnFlags) && o.dawnFlags.every((f) => typeof f === 'string'))
  ) {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`dawnFlags\` must be an array of strings (e.g. ['enable-dawn-features=allow_unsafe_apis']), got ${String(o.dawnFlags)}.`,
      { name: 'dawnFlags', actual: o.dawnFlags },
    );
  }
  if (o.importModule !== undefined && typeof o.importModule !== 'function') {
    throw new RelkdError(
      'INVALID_OPTION',
      '`importModule` must be a function (specifier) => Promise<module>.',
      {
        name: 'importModule',
      },
    );
  }
}
