import { crossEntropy, type Module, RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { offlineTeacherOutputs } from '../offlineTeacher';
import type { Tap, TapOutput } from '../tap';
import { toLabelTensor } from './labels';
import { checkInputShape } from './SetupChecks';
import type {
  Batch,
  BatchTransform,
  DistillerHooks,
  NetworkOutputs,
  StepResult,
  Term,
  TermContext,
} from './types';

/** What a {@link StepEngine} runs: the Distiller's models, taps, terms, modules and hooks. */
export interface StepEngineConfig {
  student: tfl.LayersModel;
  teacher: tfl.LayersModel | undefined;
  studentTap: Tap;
  teacherTap: Tap | undefined;
  terms: readonly Term[];
  modules: ReadonlyArray<Module<never, tf.TensorContainer>>;
  ceWeight: number;
  optimizer: tf.Optimizer;
  batchTransform: BatchTransform | undefined;
  hooks: DistillerHooks;
  seed: number;
}

/** `true` for a tfjs tensor. */
export function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/** Teacher outputs when `batch.teacherOnX` is `false`: `views` only; `logits`/`features` throw. */
function teacherWithoutX(views: Record<string, TapOutput>): NetworkOutputs {
  const absent = (): never => {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller: the teacher did not run on batch.x (the batch transform set teacherOnX: false); read teacher.views (${Object.keys(views).join(', ') || 'none'}) instead.`,
    );
  };
  const out = { views } as NetworkOutputs;
  // Non-enumerable, so spreading or listing the outputs does not trip them.
  Object.defineProperty(out, 'logits', { get: absent, enumerable: false });
  Object.defineProperty(out, 'features', { get: absent, enumerable: false });
  return out;
}

/**
 * The Distiller's step engine (internal): one training step is batch transform -> teacher
 * forward (inference mode, no tape) -> `optimizer.minimize(closure, false, varList)` where the
 * closure runs the student in training mode and sums `ceWeight·CE + Σ weight·term` ->
 * `hooks.afterUpdate` -> all loss parts stacked into one tensor (read back once by the caller)
 * -> `hooks.afterStep`. It keeps no counters: the Distiller passes the step and the epoch.
 */
export class StepEngine {
  constructor(readonly config: StepEngineConfig) {}

  /** The variables the optimizer updates: the student's trainable weights and the modules' trainable variables. */
  varList(): tf.Variable[] {
    const vars = this.config.student.trainableWeights.map((w) => w.read() as tf.Variable);
    for (const m of this.config.modules) vars.push(...m.trainableVariables);
    return vars;
  }

  private forward(t: Tap, batch: Batch, training: boolean, teacher = false): NetworkOutputs {
    const skipX = teacher && batch.teacherOnX === false;
    const out = skipX ? undefined : t(batch.x, { training });
    const views: Record<string, TapOutput> = {};
    for (const [k, v] of Object.entries(batch.views)) views[k] = t(v, { training });
    if (teacher)
      for (const [k, v] of Object.entries(batch.teacherViews ?? {})) views[k] = t(v, { training });
    return out === undefined ? teacherWithoutX(views) : { ...out, views };
  }

  /**
   * Runs one step at global step `step` of epoch `epoch` and returns the kept `[P]` tensor of
   * parts (the caller reads it once and disposes it), with their names (`total` first).
   * `offline`: an offline teacher's outputs gathered for the rows of `x` (used instead of the
   * teacher tap; the caller disposes them).
   */
  run(
    x: tf.Tensor,
    y: tf.Tensor,
    step: number,
    epoch: number,
    offline?: TapOutput,
  ): { values: tf.Tensor1D; names: string[] } {
    const c = this.config;
    if (!isTensor(x) || !isTensor(y)) {
      throw new RelkdError('INVALID_OPTION', 'Distiller.step: x and y must be tensors.');
    }
    if (x.shape[0] !== y.shape[0]) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `Distiller.step: x has ${x.shape[0]} rows but y has ${y.shape[0]}.`,
      );
    }
    // Cheap (no read-back): a typed error instead of tfjs's ValueError from inside the closure.
    checkInputShape([c.student, c.teacher], x, 'x', 'Distiller.step');
    const names: string[] = ['total'];
    let keptLogits: tf.Tensor | undefined;
    let keptLabels: tf.Tensor1D | undefined;
    const values = tf.tidy(() => {
      let batch: Batch = { x, y: toLabelTensor(y), views: {}, data: {} };
      if (c.batchTransform !== undefined) {
        batch = c.batchTransform(batch, {
          step,
          epoch,
          seed: (c.seed * 1_000_003 + step * 7919 + 1) >>> 0,
        });
      }
      // Teacher: inference mode, no gradient tape, its outputs are constants for the closure.
      const teacherOut =
        offline !== undefined
          ? offlineTeacherOutputs(offline, x, batch, teacherWithoutX)
          : c.teacherTap === undefined
            ? undefined
            : this.forward(c.teacherTap, batch, false, true);
      let parts: tf.Tensor1D | undefined;
      // An exception inside an optimizer.minimize closure leaks the tape's tensors in tfjs-core
      // 4.22, so errors are caught inside, an unconnected zero is returned (minimize then throws
      // without applying anything) and the original error is rethrown.
      let failure: { error: unknown } | undefined;
      try {
        c.optimizer.minimize(
          () => {
            try {
              const student = this.forward(c.studentTap, batch, true);
              const scalars: tf.Scalar[] = [];
              const localNames: string[] = [];
              let total: tf.Scalar = tf.scalar(0);
              if (c.ceWeight > 0) {
                const ce = crossEntropy(student.logits as tf.Tensor2D, batch.y);
                total = tf.add(total, tf.mul(ce, c.ceWeight));
                scalars.push(ce);
                localNames.push('ce');
              }
              const ctx: TermContext = { batch, student, teacher: teacherOut, training: true };
              for (const term of c.terms) {
                const r = term.loss(ctx);
                const termTotal = isTensor(r) ? r : r.total;
                if (!isTensor(termTotal) || termTotal.size !== 1) {
                  throw new RelkdError(
                    'INVALID_OPTION',
                    `Distiller: term '${term.name}' must return a scalar or { total, ...parts }.`,
                  );
                }
                total = tf.add(total, tf.mul(tf.reshape(termTotal, []), term.weight ?? 1));
                scalars.push(tf.reshape(termTotal, []));
                localNames.push(term.name);
                if (!isTensor(r)) {
                  for (const [k, v] of Object.entries(r)) {
                    if (k === 'total' || !isTensor(v) || v.size !== 1) continue;
                    scalars.push(tf.reshape(v, []));
                    localNames.push(`${term.name}/${k}`);
                  }
                }
              }
              names.push(...localNames);
              parts = tf.keep(tf.stack([total, ...scalars]) as tf.Tensor1D);
              if (c.hooks.afterStep !== undefined) keptLogits = tf.keep(tf.clone(student.logits));
              return total;
            } catch (error) {
              failure = { error };
              return tf.scalar(0);
            }
          },
          false,
          this.varList(),
        );
      } catch (error) {
        throw failure === undefined ? error : failure.error;
      }
      if (failure !== undefined) throw failure.error;
      try {
        c.hooks.afterUpdate?.({
          batch,
          runStudent: (input) => c.studentTap(input, { training: false }),
          teacher: teacherOut,
          step,
          epoch,
        });
      } catch (error) {
        parts?.dispose();
        keptLogits?.dispose();
        throw error;
      }
      if (c.hooks.afterStep !== undefined) keptLabels = tf.keep(tf.clone(batch.y));
      return parts!;
    });
    if (c.hooks.afterStep !== undefined && keptLogits !== undefined && keptLabels !== undefined) {
      try {
        c.hooks.afterStep(keptLabels, keptLogits);
      } finally {
        keptLogits.dispose();
        keptLabels.dispose();
      }
    }
    return { values, names };
  }

  /** Step results from the read-back `values` of {@link StepEngine.run} and their names. */
  static unpack(values: ArrayLike<number>, names: string[]): StepResult {
    const parts: Record<string, number> = {};
    names.forEach((n, i) => {
      if (n !== 'total') parts[n] = values[i]!;
    });
    return { total: values[0]!, parts };
  }
}
