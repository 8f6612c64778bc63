import { RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';

// Node-only file I/O of tfjs models in the layout tfjs-node's `file://` handler uses:
// `<dir>/model.json` (topology + weights manifest) and `<dir>/weights.bin` (all weights, in
// manifest order). Only the `@relkd/layers/node` entry imports this module (it hands the reader
// and writer to Distiller.save/load); `node:fs` and `node:path` are still imported lazily.

/** File name of the topology + weights manifest. */
export const MODEL_JSON = 'model.json';
/** File name of the weights. */
export const WEIGHTS_BIN = 'weights.bin';

/**
 * Internal: the file operations the reader and writer use, so tests can inject failures.
 * `writeFile` writes and flushes to disk; `rm` ignores a missing file; `stat` returns
 * `undefined` for a missing path.
 */
export interface FileOps {
  readFile(path: string): Promise<Uint8Array>;
  readText(path: string): Promise<string>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  stat(path: string): Promise<{ isFile(): boolean; isDirectory(): boolean } | undefined>;
  join(...parts: string[]): string;
  dirname(path: string): string;
  resolve(path: string): string;
}

/** Internal: {@link FileOps} on `node:fs/promises`. */
export async function nodeFileOps(): Promise<FileOps> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  return {
    readFile: async (p) => {
      const b = await fs.readFile(p);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
    readText: (p) => fs.readFile(p, 'utf8'),
    writeFile: async (p, data) => {
      const handle = await fs.open(p, 'w');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    rename: (from, to) => fs.rename(from, to),
    rm: (p) => fs.rm(p, { force: true }),
    mkdir: async (p) => {
      await fs.mkdir(p, { recursive: true });
    },
    stat: async (p) => {
      try {
        return await fs.stat(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    join: (...parts) => path.join(...parts),
    dirname: (p) => path.dirname(p),
    resolve: (p) => path.resolve(p),
  };
}

function ioError(message: string, path: string, cause?: unknown): RelkdError {
  const reason =
    cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
  const err = new RelkdError('IO_ERROR', `${message}${reason}`, {
    path,
    ...(cause === undefined ? {} : { cause }),
  });
  return err;
}

/** `file://a/b` -> `a/b`; other strings unchanged. */
export function stripFileScheme(url: string): string {
  return url.startsWith('file://') ? url.slice('file://'.length) : url;
}

/** The `model.json` layout tfjs-node's `file://` handler writes (same keys, same order). */
function modelJsonOf(artifacts: tf.io.ModelArtifacts): tf.io.ModelJSON {
  const json: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
    format: artifacts.format as string,
    generatedBy: artifacts.generatedBy as string,
    convertedBy: artifacts.convertedBy as string,
  };
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null)
    json.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer;
  return json;
}

let uniqueCounter = 0;

/**
 * Writes `artifacts` to `dir` as `model.json` + `weights.bin` (tfjs-node's layout), atomically:
 * both files are written (and flushed) under temporary names in `dir`, then renamed into place,
 * `model.json` last. A failure at any point removes the temporary files and puts back the model
 * that was there before (if any), so `dir` never holds a half-written model. Creates `dir`
 * (recursively) when missing.
 *
 * @throws RelkdError `IO_ERROR` (the message names the path and the cause), `INVALID_OPTION` for
 *   a binary (GraphDef) topology
 * @example
 * ```ts
 * await model.save(tf.io.withSaveHandler((a) => saveToDirectory('./out/model', a)));
 * ```
 */
export async function saveToDirectory(
  dir: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tf.io.SaveResult> {
  return saveWith(await nodeFileOps(), dir, artifacts);
}

/** Internal: {@link saveToDirectory} on the given file operations. */
export async function saveWith(
  io: FileOps,
  dir: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new RelkdError(
      'INVALID_OPTION',
      'saveToDirectory: a binary (GraphDef) model topology cannot be saved; only layers models with a JSON topology.',
    );
  }
  const target = io.resolve(stripFileScheme(dir));
  const existing = await io.stat(target).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory()) {
    throw ioError(`cannot save a model to '${target}': it exists and is not a directory`, target);
  }
  try {
    await io.mkdir(target);
  } catch (e) {
    throw ioError(`cannot create the model directory '${target}'`, target, e);
  }
  const weights =
    artifacts.weightData === undefined
      ? new ArrayBuffer(0)
      : tf.io.CompositeArrayBuffer.join(artifacts.weightData as ArrayBuffer | ArrayBuffer[]);
  const json = JSON.stringify(modelJsonOf(artifacts));
  const id = `relkd-${Date.now().toString(36)}-${(uniqueCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const jsonPath = io.join(target, MODEL_JSON);
  const weightsPath = io.join(target, WEIGHTS_BIN);
  const tmpJson = io.join(target, `.${MODEL_JSON}.${id}.tmp`);
  const tmpWeights = io.join(target, `.${WEIGHTS_BIN}.${id}.tmp`);
  const backup = io.join(target, `.${WEIGHTS_BIN}.${id}.old`);
  const cleanup = async (paths: string[]) => {
    for (const p of paths) await io.rm(p).catch(() => undefined);
  };
  try {
    await io.writeFile(tmpWeights, new Uint8Array(weights));
    await io.writeFile(tmpJson, json);
  } catch (e) {
    await cleanup([tmpWeights, tmpJson]);
    throw ioError(`could not write the model to '${target}' (nothing was changed)`, target, e);
  }
  // Commit: keep the previous weights aside, move the new files in (model.json last).
  let backedUp = false;
  let weightsMoved = false;
  try {
    const old = await io.stat(weightsPath);
    if (old !== undefined) {
      await io.rename(weightsPath, backup);
      backedUp = true;
    }
    await io.rename(tmpWeights, weightsPath);
    weightsMoved = true;
    await io.rename(tmpJson, jsonPath);
  } catch (e) {
    if (weightsMoved) {
      if (backedUp) await io.rename(backup, weightsPath).catch(() => undefined);
      else await io.rm(weightsPath).catch(() => undefined);
    } else if (backedUp) {
      await io.rename(backup, weightsPath).catch(() => undefined);
    }
    await cleanup([tmpWeights, tmpJson]);
    throw ioError(
      `could not write the model to '${target}' (the previous model, if any, was kept)`,
      target,
      e,
    );
  }
  if (backedUp) await cleanup([backup]);
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** Bytes the manifest entries describe, or `undefined` when not computable (strings). */
function manifestBytes(specs: readonly tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const s of specs) {
    const per = DTYPE_BYTES[s.quantization?.dtype ?? s.dtype];
    if (per === undefined) return undefined;
    total += per * s.shape.reduce((a, b) => a * b, 1);
  }
  return total;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function checkManifest(manifest: unknown, jsonPath: string): tf.io.WeightsManifestConfig {
  const ok =
    Array.isArray(manifest) &&
    manifest.every(
      (g) =>
        isObject(g) &&
        Array.isArray(g.paths) &&
        g.paths.every((p) => typeof p === 'string') &&
        Array.isArray(g.weights) &&
        g.weights.every(
          (w) =>
            isObject(w) &&
            typeof w.name === 'string' &&
            typeof w.dtype === 'string' &&
            Array.isArray(w.shape) &&
            w.shape.every((d) => Number.isInteger(d) && (d as number) >= 0),
        ),
    );
  if (!ok) {
    throw ioError(
      `corrupt model file '${jsonPath}': weightsManifest must be [{ paths: string[], weights: [{ name, shape, dtype }] }]`,
      jsonPath,
    );
  }
  return manifest as tf.io.WeightsManifestConfig;
}

/**
 * Reads a tfjs model in tfjs-node's `file://` layout: `path` is the `model.json` file or the
 * directory holding it; weight files are read relative to it, in manifest order. Checks what it
 * reads: a missing path or weight file, a `model.json` that is not JSON or has a malformed
 * `weightsManifest`, and weight files whose total size differs from what the manifest describes
 * (truncated or mixed-up files) throw `IO_ERROR`. Returns the `ModelArtifacts` (pass them to
 * `tf.loadLayersModel(tf.io.fromMemory(artifacts))`), weights concatenated in one `ArrayBuffer`.
 *
 * @throws RelkdError `IO_ERROR` (the message names the file and the cause)
 * @example
 * ```ts
 * const artifacts = await loadFromDirectory('./checkpoints/student');
 * const student = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
 * ```
 */
export async function loadFromDirectory(path: string): Promise<tf.io.ModelArtifacts> {
  return loadWith(await nodeFileOps(), path);
}

/** Internal: {@link loadFromDirectory} on the given file operations. */
export async function loadWith(io: FileOps, path: string): Promise<tf.io.ModelArtifacts> {
  const given = io.resolve(stripFileScheme(path));
  let info: Awaited<ReturnType<FileOps['stat']>>;
  try {
    info = await io.stat(given);
  } catch (e) {
    throw ioError(`cannot read the model at '${given}'`, given, e);
  }
  if (info === undefined) throw ioError(`no model at '${given}': it does not exist`, given);
  const jsonPath = info.isDirectory() ? io.join(given, MODEL_JSON) : given;
  let text: string;
  try {
    text = await io.readText(jsonPath);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException)?.code === 'ENOENT';
    throw ioError(
      missing
        ? `no model at '${given}': '${jsonPath}' does not exist`
        : `cannot read '${jsonPath}'`,
      jsonPath,
      missing ? undefined : e,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw ioError(`corrupt model file '${jsonPath}' (not valid JSON)`, jsonPath, e);
  }
  if (!isObject(json) || (json.modelTopology === undefined && json.weightsManifest === undefined)) {
    throw ioError(
      `corrupt model file '${jsonPath}': expected an object with modelTopology and weightsManifest`,
      jsonPath,
    );
  }
  const artifacts = {} as tf.io.ModelArtifacts;
  if (json.modelTopology != null) artifacts.modelTopology = json.modelTopology as object;
  if (typeof json.format === 'string') artifacts.format = json.format;
  if (typeof json.generatedBy === 'string') artifacts.generatedBy = json.generatedBy;
  if (typeof json.convertedBy === 'string') artifacts.convertedBy = json.convertedBy;
  if (json.weightsManifest != null) {
    const manifest = checkManifest(json.weightsManifest, jsonPath);
    const dir = io.dirname(jsonPath);
    const buffers: ArrayBuffer[] = [];
    const specs: tf.io.WeightsManifestEntry[] = [];
    for (const group of manifest) {
      for (const p of group.paths) {
        const file = io.join(dir, p);
        let bytes: Uint8Array;
        try {
          bytes = await io.readFile(file);
        } catch (e) {
          const missing = (e as NodeJS.ErrnoException)?.code === 'ENOENT';
          throw ioError(
            missing
              ? `weight file '${file}' of '${jsonPath}' does not exist`
              : `cannot read the weight file '${file}'`,
            file,
            missing ? undefined : e,
          );
        }
        buffers.push(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
        );
      }
      specs.push(...group.weights);
    }
    const data = tf.io.concatenateArrayBuffers(buffers);
    const expected = manifestBytes(specs);
    if (expected !== undefined && expected !== data.byteLength) {
      throw ioError(
        `corrupt model at '${jsonPath}': the weight files hold ${data.byteLength} bytes but the manifest describes ${expected} (truncated or mismatched weights)`,
        jsonPath,
      );
    }
    artifacts.weightSpecs = specs;
    artifacts.weightData = data;
  }
  if (json.trainingConfig != null)
    artifacts.trainingConfig = json.trainingConfig as tf.io.TrainingConfig;
  if (json.signature != null) artifacts.signature = json.signature as object;
  if (json.userDefinedMetadata != null)
    artifacts.userDefinedMetadata = json.userDefinedMetadata as Record<string, object>;
  if (json.modelInitializer != null) artifacts.modelInitializer = json.modelInitializer as object;
  return artifacts;
}

/**
 * A `tf.io.IOHandler` for a model on disk in Node, in tfjs-node's `file://` layout
 * (`model.json` + `weights.bin`), without tfjs-node: `save` writes to the directory `path`
 * atomically ({@link saveToDirectory}); `load` reads `path` (the `model.json` file or its
 * directory, {@link loadFromDirectory}). A leading `file://` is stripped. Failures throw
 * `RelkdError` `IO_ERROR`.
 *
 * @example
 * ```ts
 * await model.save(fileSystem('./out/model'));
 * const again = await tfl.loadLayersModel(fileSystem('./out/model/model.json'));
 * ```
 */
export function fileSystem(path: string): tf.io.IOHandler {
  if (typeof path !== 'string' || stripFileScheme(path) === '') {
    throw new RelkdError(
      'INVALID_OPTION',
      `fileSystem: path must be a non-empty string, got ${JSON.stringify(path)}.`,
    );
  }
  return {
    save: (artifacts) => saveToDirectory(path, artifacts),
    load: () => loadFromDirectory(path),
  };
}
