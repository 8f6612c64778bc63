import { RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Which layers {@link tap} exposes. */
export interface TapSpec {
  /**
   * Layer names whose outputs become `features` (NHWC for conv layers). A layer inside a nested
   * model is addressed as `outer/inner` (a bare name is also searched in nested models).
   */
  features?: readonly string[];
  /**
   * The layer whose output is the logits. Default: the model's (single) output. When that layer
   * ends in a softmax, its log is returned (log-probabilities are logits up to a per-row shift,
   * which every relkd logit loss ignores); see {@link TapSpec.softmax}.
   */
  logits?: string;
  /**
   * What to do when the logits layer applies a softmax: `'log'` (default) returns
   * `log(max(p, 1e-30))`, `'error'` throws `INVALID_OPTION`, `'keep'` returns the probabilities.
   */
  softmax?: 'log' | 'error' | 'keep';
}

/** What a tapped model returns. */
export interface TapOutput {
  /** `[B, C]` logits. */
  logits: tf.Tensor;
  /** Tapped layer outputs by the name given in {@link TapSpec.features}. */
  features: Record<string, tf.Tensor>;
}

/** Options of a tap call. */
export interface TapCallOptions {
  /** Training mode (dropout active, BatchNorm batch statistics). Default `false`. */
  training?: boolean;
}

/** A tapped model: call it like a function; `model` is the multi-output `tf.LayersModel`. */
export interface Tap {
  (x: tf.Tensor | tf.Tensor[], options?: TapCallOptions): TapOutput;
  /** The multi-output model `[logits, ...features]` (shares weights with the source). */
  readonly model: tfl.LayersModel;
  /** The model that was tapped. */
  readonly source: tfl.LayersModel;
  /** The feature names, in output order. */
  readonly featureNames: readonly string[];
}

type SymbolicTensor = tfl.SymbolicTensor;
type Layer = tfl.layers.Layer;

function isContainer(layer: Layer): layer is tfl.LayersModel {
  return layer instanceof tfl.LayersModel;
}

function isInputLayer(layer: Layer): boolean {
  return layer.getClassName() === 'InputLayer';
}

/** Every addressable layer name of `model`: `name` and, inside nested models, `outer/inner`. */
export function layerNames(model: tfl.LayersModel, prefix = ''): string[] {
  const names: string[] = [];
  for (const layer of model.layers) {
    if (isInputLayer(layer)) continue;
    names.push(prefix + layer.name);
    if (isContainer(layer)) names.push(...layerNames(layer, `${prefix}${layer.name}/`));
  }
  return names;
}

/** Resolves a name to a path of layers (outer first). */
function findPath(model: tfl.LayersModel, name: string): Layer[] | undefined {
  const slash = name.indexOf('/');
  if (slash > 0) {
    const head = model.layers.find((l) => l.name === name.slice(0, slash));
    if (head !== undefined && isContainer(head)) {
      const rest = findPath(head, name.slice(slash + 1));
      if (rest !== undefined) return [head, ...rest];
    }
  }
  const direct = model.layers.find((l) => l.name === name && !isInputLayer(l));
  if (direct !== undefined) return [direct];
  for (const layer of model.layers) {
    if (isContainer(layer)) {
      const rest = findPath(layer, name);
      if (rest !== undefined) return [layer, ...rest];
    }
  }
  return undefined;
}

function toArray<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

/**
 * Re-applies `model`'s layers on `inputs`, descending into the nested models on the tapped paths,
 * and returns the symbolic outputs plus the tapped layers' outputs. Weights are shared.
 */
function rewalk(
  model: tfl.LayersModel,
  inputs: SymbolicTensor[],
  wanted: ReadonlyMap<Layer, Layer[][]>,
  tapped: Map<Layer, SymbolicTensor>,
): SymbolicTensor[] {
  const map = new Map<number, SymbolicTensor>();
  model.inputs.forEach((t, i) => {
    map.set(t.id, inputs[i]!);
  });
  for (const layer of model.layers) {
    if (isInputLayer(layer)) continue;
    const node = layer.inboundNodes.find(
      (n) => n.inputTensors.length > 0 && n.inputTensors.every((t) => map.has(t.id)),
    );
    if (node === undefined) continue;
    const newIn = node.inputTensors.map((t) => map.get(t.id)!);
    const arg = newIn.length === 1 ? newIn[0]! : newIn;
    const sub = wanted.get(layer)?.filter((p) => p.length > 0);
    let outs: SymbolicTensor[];
    if (sub !== undefined && sub.length > 0 && isContainer(layer)) {
      const subWanted = new Map<Layer, Layer[][]>();
      for (const p of sub) {
        const [first, ...rest] = p;
        subWanted.set(first!, [...(subWanted.get(first!) ?? []), rest]);
      }
      outs = rewalk(layer, toArray(arg), subWanted, tapped);
    } else {
      outs = toArray(layer.apply(arg) as SymbolicTensor | SymbolicTensor[]);
    }
    node.outputTensors.forEach((t, i) => {
      map.set(t.id, outs[i]!);
    });
    if (wanted.has(layer)) tapped.set(layer, outs[0]!);
  }
  return model.outputs.map((t) => {
    const s = map.get(t.id);
    if (s === undefined) {
      throw new RelkdError(
        'INVALID_OPTION',
        `tap: could not trace the graph of model '${model.name}'.`,
      );
    }
    return s;
  });
}

function layerOutput(layer: Layer): SymbolicTensor {
  const out = layer.inboundNodes[0]?.outputTensors[0];
  if (out === undefined) {
    throw new RelkdError(
      'INVALID_OPTION',
      `tap: layer '${layer.name}' has not been connected to the model.`,
    );
  }
  return out;
}

function endsInSoftmax(layer: Layer): boolean {
  if (layer.getClassName() === 'Softmax') return true;
  const cfg = layer.getConfig() as { activation?: unknown };
  return cfg.activation === 'softmax';
}

/**
 * Exposes intermediate layer outputs of a `tf.LayersModel` next to its logits, with one forward
 * pass: builds `tf.model({ inputs, outputs: [logits, ...features] })` once (weights shared with
 * `model`), and returns a function `x -> { logits, features: { name: tensor } }`.
 *
 * Works for Sequential and functional models, models loaded with `tf.loadLayersModel`, and
 * layers inside nested models (`'backbone/block2_out'`).
 *
 * @throws RelkdError `INVALID_OPTION` for an unknown layer name (the message lists the model's
 *   layer names), or for a softmax logits layer with `softmax: 'error'`.
 * @example
 * ```ts
 * const t = tap(teacher, { features: ['block1_out', 'block2_out'], logits: 'logits' });
 * const { logits, features } = t(images);   // features.block1_out: [B, H, W, C]
 * ```
 */
export function tap(model: tfl.LayersModel, spec: TapSpec = {}): Tap {
  if (!(model instanceof tfl.LayersModel)) {
    throw new RelkdError(
      'INVALID_OPTION',
      'tap: `model` must be a tf.LayersModel (tf.sequential, tf.model or tf.loadLayersModel).',
    );
  }
  const features = [...(spec.features ?? [])];
  const softmaxMode = spec.softmax ?? 'log';
  if (!['log', 'error', 'keep'].includes(softmaxMode)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `tap: softmax must be 'log', 'error' or 'keep', got '${String(softmaxMode)}'.`,
    );
  }
  if (new Set(features).size !== features.length) {
    throw new RelkdError(
      'INVALID_OPTION',
      `tap: duplicate feature names in [${features.join(', ')}].`,
    );
  }
  const names = [...features, ...(spec.logits === undefined ? [] : [spec.logits])];
  const paths = new Map<string, Layer[]>();
  for (const name of names) {
    const path = findPath(model, name);
    if (path === undefined) {
      throw new RelkdError(
        'INVALID_OPTION',
        `tap: model '${model.name}' has no layer '${name}'. Its layers are: ${layerNames(model).join(', ')}.`,
        { name, layers: layerNames(model) },
      );
    }
    paths.set(name, path);
  }
  if (spec.logits === undefined && model.outputs.length !== 1) {
    throw new RelkdError(
      'INVALID_OPTION',
      `tap: model '${model.name}' has ${model.outputs.length} outputs; name the logits layer with { logits: '<layer>' }.`,
    );
  }

  const nested = [...paths.values()].some((p) => p.length > 1);
  let symbolic: Map<string, SymbolicTensor>;
  let modelOut: SymbolicTensor;
  let inputs: SymbolicTensor[];
  if (!nested) {
    inputs = model.inputs;
    modelOut = model.outputs[0]!;
    symbolic = new Map([...paths].map(([n, p]) => [n, layerOutput(p[0]!)]));
  } else {
    inputs = model.inputs.map((t) => tfl.input({ shape: t.shape.slice(1), dtype: t.dtype }));
    const wanted = new Map<Layer, Layer[][]>();
    for (const p of paths.values()) {
      const [first, ...rest] = p;
      wanted.set(first!, [...(wanted.get(first!) ?? []), rest]);
    }
    const tapped = new Map<Layer, SymbolicTensor>();
    const outs = rewalk(model, inputs, wanted, tapped);
    modelOut = outs[0]!;
    symbolic = new Map([...paths].map(([n, p]) => [n, tapped.get(p[p.length - 1]!)!]));
  }
  const logitsLayer =
    spec.logits === undefined
      ? (model.outputs[0]!.sourceLayer as Layer)
      : paths.get(spec.logits)?.at(-1);
  const logitsOut = spec.logits === undefined ? modelOut : symbolic.get(spec.logits)!;
  const softmax = logitsLayer !== undefined && endsInSoftmax(logitsLayer) && softmaxMode !== 'keep';
  if (softmax && softmaxMode === 'error') {
    throw new RelkdError(
      'INVALID_OPTION',
      `tap: the logits layer '${logitsLayer.name}' applies a softmax; tap the layer before it or use softmax: 'log'.`,
    );
  }
  const tapModel = tfl.model({
    inputs,
    outputs: [logitsOut, ...features.map((f) => symbolic.get(f)!)],
    name: `${model.name}_tap`,
  });
  const fn = ((x: tf.Tensor | tf.Tensor[], options: TapCallOptions = {}): TapOutput => {
    const outs = toArray(
      tapModel.apply(x, { training: options.training ?? false }) as tf.Tensor | tf.Tensor[],
    );
    let logits = outs[0]!;
    // The probabilities stay alive (a gradient tape may need them); call inside tf.tidy.
    if (softmax) logits = tf.log(tf.maximum(logits, 1e-30));
    const feats: Record<string, tf.Tensor> = {};
    features.forEach((f, i) => {
      feats[f] = outs[i + 1]!;
    });
    return { logits, features: feats };
  }) as Tap;
  Object.defineProperties(fn, {
    model: { value: tapModel, enumerable: true },
    source: { value: model, enumerable: true },
    featureNames: { value: Object.freeze([...features]), enumerable: true },
  });
  return fn;
}
