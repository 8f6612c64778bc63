import { type Module, RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

// The Distiller's checkpoint format: one tfjs `layers-model` artifact holding the student's
// topology and weights, then each module's variables (`relkd_module<i>/<path>`), then the
// optimizer's weights (`relkd_optimizer/<i>/<name>`), with the counters in
// `userDefinedMetadata.relkd`. Directories need Node file I/O, registered by `@relkd/layers/node`.

interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

const MODULE_PREFIX = 'relkd_module';
const OPTIMIZER_PREFIX = 'relkd_optimizer';

/** What a checkpoint holds: the student, the modules, the optimizer and the counters. */
export interface CheckpointParts {
  student: tfl.LayersModel;
  modules: ReadonlyArray<Module<never, tf.TensorContainer>>;
  optimizer: tf.Optimizer;
  stepCount: number;
  epochCount: number;
}

/** Reads and writes a model directory (`model.json` + `weights.bin`); Node only. */
export interface DirectoryIO {
  save(dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult>;
  load(path: string): Promise<tf.io.ModelArtifacts>;
}

/** Process-wide, so the ESM and CJS builds of `@relkd/layers/node` serve both builds' Distillers. */
const DIRECTORY_IO = Symbol.for('@relkd/layers:directoryIO');

/**
 * Registers the directory reader and writer `Distiller.save/load` use for paths and `file://`
 * URLs. Internal: importing `@relkd/layers/node` calls it; the main entry has no file I/O.
 */
export function setDirectoryIO(io: DirectoryIO): void {
  (globalThis as unknown as Record<symbol, DirectoryIO>)[DIRECTORY_IO] = io;
}

/** The registered {@link DirectoryIO}, or `INVALID_OPTION` saying how to get one. */
function directoryIO(kind: 'save' | 'load'): DirectoryIO {
  const io = (globalThis as unknown as Record<symbol, DirectoryIO | undefined>)[DIRECTORY_IO];
  if (io === undefined) {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.${kind}: a directory path or file:// URL needs Node file I/O: import '@relkd/layers/node' once (Node only), or pass another tfjs URL (indexeddb://…) or a tf.io.IOHandler.`,
    );
  }
  return io;
}

/**
 * The handler for a tfjs URL other than `file://` (`indexeddb://`, `localstorage://`, `http(s)://`
 * through `tf.io`'s routers); `undefined` for a path or a `file://` URL (relkd's own file I/O).
 */
function stringHandler(url: string, kind: 'save' | 'load'): tf.io.IOHandler | undefined {
  if (typeof url !== 'string' || url === '') {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.${kind}: expected a directory, a URL or a tf.io.IOHandler, got ${JSON.stringify(url)}.`,
    );
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url.startsWith('file://')) return undefined;
  const handlers = kind === 'save' ? tf.io.getSaveHandlers(url) : tf.io.getLoadHandlers(url);
  if (handlers.length !== 1) {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.${kind}: ${handlers.length === 0 ? 'no' : 'more than one'} tf.io handler for '${url}'.`,
    );
  }
  return handlers[0];
}

/** Writes `parts` as one checkpoint to `target` (see `Distiller.save`). */
export async function saveCheckpoint(
  parts: CheckpointParts,
  target: string | tf.io.IOHandler,
): Promise<tf.io.SaveResult> {
  let captured: tf.io.ModelArtifacts | undefined;
  await parts.student.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const artifacts = captured!;
  const extra: NamedTensor[] = [];
  parts.modules.forEach((m, i) => {
    for (const v of m.namedVariables())
      extra.push({ name: `${MODULE_PREFIX}${i}/${v.path}`, tensor: v.variable });
  });
  const optWeights = await parts.optimizer.getWeights();
  optWeights.forEach((w, i) => {
    extra.push({ name: `${OPTIMIZER_PREFIX}/${i}/${w.name}`, tensor: w.tensor });
  });
  let enc: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] };
  try {
    enc = await tf.io.encodeWeights(extra);
  } finally {
    // getWeights() makes a fresh tensor for the iteration count; the rest are its variables.
    for (const w of optWeights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  }
  const studentData = tf.io.CompositeArrayBuffer.join(
    artifacts.weightData as ArrayBuffer | ArrayBuffer[],
  );
  const weightData = tf.io.concatenateArrayBuffers([studentData, enc.data]);
  const full: tf.io.ModelArtifacts = {
    ...artifacts,
    weightSpecs: [...(artifacts.weightSpecs ?? []), ...enc.specs],
    weightData,
    userDefinedMetadata: {
      relkd: {
        stepCount: parts.stepCount,
        epochCount: parts.epochCount,
        modules: parts.modules.length,
        optimizerWeights: optWeights.length,
      },
    },
  };
  const handler = typeof target === 'string' ? stringHandler(target, 'save') : target;
  if (handler === undefined) return directoryIO('save').save(target as string, full);
  if (handler.save === undefined)
    throw new RelkdError('INVALID_OPTION', 'Distiller.save: the handler has no save().');
  return handler.save(full);
}

/**
 * Restores a checkpoint into `parts`' student, modules and optimizer (see `Distiller.load`);
 * returns the saved counters (the current ones where the checkpoint has none).
 */
export async function loadCheckpoint(
  parts: CheckpointParts,
  source: string | tf.io.IOHandler,
): Promise<{ stepCount: number; epochCount: number }> {
  const handler = typeof source === 'string' ? stringHandler(source, 'load') : source;
  const artifacts =
    handler === undefined
      ? await directoryIO('load').load(source as string)
      : await handler.load?.();
  if (artifacts?.weightSpecs === undefined || artifacts.weightData === undefined) {
    throw new RelkdError('INVALID_OPTION', 'Distiller.load: no weights found in the checkpoint.');
  }
  const map = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  let counters: { stepCount: number; epochCount: number };
  try {
    // By name; by position (the student's weights come first) when names differ, e.g. a
    // model rebuilt in the same process gets fresh layer-name suffixes.
    const specs = artifacts.weightSpecs;
    const studentWeights = parts.student.weights.map((w, i) => {
      const t = map[w.originalName] ?? map[w.name] ?? map[specs[i]?.name ?? ''];
      if (t === undefined || !tf.util.arraysEqual(t.shape, w.shape as number[])) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `Distiller.load: the checkpoint has no weight matching '${w.originalName}' ${JSON.stringify(w.shape)} of the student.`,
        );
      }
      return t;
    });
    parts.student.setWeights(studentWeights);
    for (let i = 0; i < parts.modules.length; i++) {
      const m = parts.modules[i]!;
      const weights = m.namedVariables().map((v) => {
        const t = map[`${MODULE_PREFIX}${i}/${v.path}`];
        if (t === undefined) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `Distiller.load: the checkpoint has no weight '${v.path}' of module ${i} (${m.name}).`,
          );
        }
        return t;
      });
      m.setWeights(weights);
    }
    const meta = (artifacts.userDefinedMetadata?.relkd ?? {}) as {
      stepCount?: number;
      epochCount?: number;
      optimizerWeights?: number;
    };
    const opt: Array<NamedTensor & { index: number }> = [];
    for (const [name, tensor] of Object.entries(map)) {
      if (name.startsWith(`${OPTIMIZER_PREFIX}/`)) {
        const rest = name.slice(OPTIMIZER_PREFIX.length + 1);
        const slash = rest.indexOf('/');
        opt.push({ name: rest.slice(slash + 1), tensor, index: Number(rest.slice(0, slash)) });
      }
    }
    opt.sort((a, b) => a.index - b.index);
    if (opt.length > 0)
      await parts.optimizer.setWeights(
        opt.map(({ name, tensor }) => ({ name, tensor: tensor.clone() })),
      );
    counters = {
      stepCount: meta.stepCount ?? parts.stepCount,
      epochCount: meta.epochCount ?? parts.epochCount,
    };
  } finally {
    for (const t of Object.values(map)) t.dispose();
  }
  return counters;
}
