import * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { formatShape } from '../validation/validation';

/** Options of {@link Module.apply}. */
export interface ApplyOptions {
  /** Training mode: BatchNorm uses batch statistics and updates its running statistics. Default `false`. */
  training?: boolean;
}

/** Serialised weights as produced by `tf.io.encodeWeights`: persist `specs` as JSON and `data` as bytes. */
export interface SavedWeights {
  specs: tf.io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

/** One variable of a module tree with its path (`block0/bn/gamma`). */
export interface NamedVariable {
  path: string;
  variable: tf.Variable;
  trainable: boolean;
}

/**
 * Base class of relkd's small trainable pieces (relation networks, adapters, stage heads),
 * built on tfjs-core ops and `tf.Variable`s, without tfjs-layers.
 *
 * A subclass registers its variables with `addWeight` and its children with `addModule` in the
 * constructor and implements `forward(x, training)`. Variables are addressed by path
 * (`child/grandchild/weight`), which is what `getWeights`, `saveWeights` and `loadWeights` use;
 * the order is registration order, depth first.
 *
 * @example
 * ```ts
 * const head = new Sequential([new Dense({ inUnits: 64, outUnits: 10, seed: 1 })]);
 * const grads = optimizer.minimize(() => loss(head.apply(x, { training: true })), true,
 *                                  head.trainableVariables);
 * const saved = await head.saveWeights();   // { specs, data }
 * other.loadWeights(saved);
 * ```
 */
export abstract class Module<In = tf.Tensor, Out extends tf.TensorContainer = tf.Tensor> {
  /** A human-readable name used in error messages. */
  readonly name: string;
  private readonly ownWeights: Array<{ name: string; variable: tf.Variable; trainable: boolean }> =
    [];
  private readonly children: Array<{ name: string; module: Module<unknown, tf.TensorContainer> }> =
    [];
  private disposed = false;

  protected constructor(name: string) {
    this.name = name;
  }

  /** The computation. Called inside a `tf.tidy` by `apply`. */
  protected abstract forward(x: In, training: boolean): Out;

  /**
   * Runs the module. Intermediates are released; the output is returned. In training mode
   * BatchNorm layers use batch statistics and update their running statistics.
   */
  apply(x: In, options: ApplyOptions = {}): Out {
    this.assertAlive();
    const training = options.training ?? false;
    return tf.tidy(() => this.forward(x, training));
  }

  /** Registers a variable (owned by this module; `initial` is disposed after copying). */
  protected addWeight(name: string, initial: tf.Tensor, trainable = true): tf.Variable {
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.ownWeights.push({ name, variable, trainable });
    return variable;
  }

  /** Registers a child module under `name`. */
  protected addModule<M extends Module<never, tf.TensorContainer>>(name: string, module: M): M {
    this.children.push({ name, module: module as unknown as Module<unknown, tf.TensorContainer> });
    return module;
  }

  /** Every variable of the tree with its path, depth first in registration order. */
  namedVariables(): NamedVariable[] {
    const out: NamedVariable[] = this.ownWeights.map((w) => ({
      path: w.name,
      variable: w.variable,
      trainable: w.trainable,
    }));
    for (const child of this.children) {
      for (const v of child.module.namedVariables())
        out.push({ ...v, path: `${child.name}/${v.path}` });
    }
    return out;
  }

  /** The variables an optimizer should update (pass them as `varList` to `optimizer.minimize`). */
  get trainableVariables(): tf.Variable[] {
    return this.namedVariables()
      .filter((v) => v.trainable)
      .map((v) => v.variable);
  }

  /** All variables, including non-trainable state such as BatchNorm running statistics. */
  get variables(): tf.Variable[] {
    return this.namedVariables().map((v) => v.variable);
  }

  /** Copies of all variables (trainable and state) in `namedVariables()` order. */
  getWeights(): tf.Tensor[] {
    this.assertAlive();
    return this.variables.map((v) => v.clone());
  }

  /**
   * Assigns all variables from `weights` (same order and shapes as `getWeights()`).
   * @throws RelkdError `SHAPE_MISMATCH` (count or shape differs), `DTYPE_MISMATCH`, `INVALID_OPTION`
   *   (not a live tensor); nothing is assigned then.
   */
  setWeights(weights: readonly tf.Tensor[]): void {
    this.assertAlive();
    const named = this.namedVariables();
    if (weights.length !== named.length) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `${this.name}.setWeights expected ${named.length} tensors, got ${weights.length}.`,
      );
    }
    named.forEach((v, i) => {
      const w = weights[i];
      if (!(w instanceof tf.Tensor) || w.isDisposed) {
        throw new RelkdError(
          'INVALID_OPTION',
          `${this.name}.setWeights: '${v.path}' must be a live tf.Tensor.`,
          { path: v.path },
        );
      }
      if (w.dtype !== v.variable.dtype) {
        throw new RelkdError(
          'DTYPE_MISMATCH',
          `${this.name}.setWeights: '${v.path}' must be ${v.variable.dtype}, got ${w.dtype}.`,
          { path: v.path, expected: v.variable.dtype, actual: w.dtype },
        );
      }
      if (!tf.util.arraysEqual(w.shape, v.variable.shape)) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `${this.name}.setWeights: '${v.path}' needs shape ${formatShape(v.variable.shape)}, got ${formatShape(w.shape)}.`,
        );
      }
    });
    named.forEach((v, i) => {
      v.variable.assign(weights[i]!);
    });
  }

  /** Serialises every variable by path with `tf.io.encodeWeights`. */
  async saveWeights(): Promise<SavedWeights> {
    this.assertAlive();
    const named = this.namedVariables().map((v) => ({
      name: v.path,
      tensor: v.variable as tf.Tensor,
    }));
    const { data, specs } = await tf.io.encodeWeights(named);
    return { data, specs };
  }

  /**
   * Restores variables saved by `saveWeights()` (matched by path; exact round trip).
   * Extra saved entries are ignored.
   * @throws RelkdError `SHAPE_MISMATCH` (a path is missing or a shape differs), `DTYPE_MISMATCH`,
   *   `INVALID_OPTION` (not decodable); nothing is assigned then.
   */
  loadWeights(saved: SavedWeights): void {
    this.assertAlive();
    let decoded: tf.NamedTensorMap;
    try {
      decoded = tf.io.decodeWeights(saved.data, saved.specs);
    } catch (e) {
      throw new RelkdError(
        'INVALID_OPTION',
        `${this.name}.loadWeights: \`saved\` is not valid { specs, data } from saveWeights: ${(e as Error).message}`,
      );
    }
    try {
      const named = this.namedVariables();
      for (const v of named) {
        const t = decoded[v.path];
        if (t === undefined) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `${this.name}.loadWeights: saved weights lack '${v.path}'.`,
          );
        }
        if (t.dtype !== v.variable.dtype) {
          throw new RelkdError(
            'DTYPE_MISMATCH',
            `${this.name}.loadWeights: '${v.path}' must be ${v.variable.dtype}, saved ${t.dtype}.`,
          );
        }
        if (!tf.util.arraysEqual(t.shape, v.variable.shape)) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `${this.name}.loadWeights: '${v.path}' needs shape ${formatShape(v.variable.shape)}, saved ${formatShape(t.shape)}.`,
          );
        }
      }
      for (const v of named) v.variable.assign(decoded[v.path]!);
    } finally {
      tf.dispose(decoded);
    }
  }

  /** Number of scalar parameters (trainable only unless `all`). */
  countParams(all = false): number {
    return this.namedVariables()
      .filter((v) => all || v.trainable)
      .reduce((n, v) => n + v.variable.size, 0);
  }

  /** Releases every variable of the tree. The module cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const w of this.ownWeights) w.variable.dispose();
    for (const c of this.children) c.module.dispose();
    this.disposed = true;
  }

  private assertAlive(): void {
    if (this.disposed) throw new RelkdError('INVALID_OPTION', `${this.name} has been disposed.`);
  }
}
