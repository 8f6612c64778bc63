/**
 * The whole training step of each method on the MNIST benchmark, built exactly as the benchmark
 * builds it: examples/mnist's models (`buildStudent` / `buildTeacher`), arms (`armById(method)
 * .build`) and tuned configurations (`loadTuned` + `configFor`: examples/mnist/tuned.json), a
 * `Distiller` with `FusedAdamOptimizer(0.005)` (`tf.train.adam`'s updates, one kernel per variable) (the protocol's optimizer and learning rate). Used by
 * the "whole steps" section of `npm run bench` (wholeSteps.ts) and by stepPeer.test.ts, which
 * checks the PyTorch peer (tools/reference/step_torch.py) against these very steps.
 */
import { FusedAdamOptimizer, type Module, type NamedVariable, RelkdError } from '@relkd/core';
import { Distiller, type DistillerParts } from '@relkd/layers';
import { methods } from '@relkd/layers/methods';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  type Arm,
  armById,
  type Config,
  configFor,
  type Method,
} from '../../../examples/mnist/src/arms';
import {
  type Arch,
  buildStudent,
  buildTeacher,
  type Net,
} from '../../../examples/mnist/src/models';
import { loadTuned } from '../../../examples/mnist/src/tuning';

/** One timed step: a method of the benchmark (CE or a registered method) on a student arch. */
export interface StepVariant {
  method: Method;
  arch: Arch;
}

/** `'kd'` for the 3-stage default, `'kd@2stage'` for the 2-stage pair. */
export function variantId(v: StepVariant): string {
  return v.arch === '3stage' ? v.method : `${v.method}@${v.arch}`;
}

/** The protocol's learning rate (examples/mnist/src/cliArgs.ts: Adam 0.005). */
export const STEP_LR = 0.005;

/**
 * Every variant of the whole-step benchmark: CE and each registered method on the 3-stage
 * student (registry order), then CE and KD on the 2-stage student (the first numbers).
 */
export function stepVariants(): StepVariant[] {
  const three = (['ce', ...Object.keys(methods)] as Method[]).map(
    (method): StepVariant => ({ method, arch: '3stage' }),
  );
  return [...three, { method: 'ce', arch: '2stage' }, { method: 'kd', arch: '2stage' }];
}

/** Kind of a weight tensor, from its name: what the sine fixture weights depend on. */
export type WeightRole = 'kernel' | 'bias' | 'gamma' | 'beta' | 'movingMean' | 'movingVariance';

/** A model or module whose weights the peer mirrors: tfjs-layout roles and shapes, in order. */
export interface WeightHolder {
  /** `[role, shape]` of every weight in `getWeights()` order (BatchNorm statistics included). */
  shapes: Array<[WeightRole, number[]]>;
  /** Trainable parameters (BatchNorm statistics excluded). */
  trainableParams: number;
  /** Assigns every weight, in `shapes` order. */
  setWeights(weights: tf.Tensor[]): void;
}

function roleOf(name: string): WeightRole {
  const last = name.split('/').pop() ?? name;
  const role = last === 'filter' ? 'kernel' : last;
  if (!['kernel', 'bias', 'gamma', 'beta', 'movingMean', 'movingVariance'].includes(role)) {
    throw new RelkdError('INVALID_OPTION', `wholeStepSetup: unknown weight kind '${name}'.`);
  }
  return role as WeightRole;
}

function holder(shapes: Array<[WeightRole, number[]]>, set: (w: tf.Tensor[]) => void) {
  const stats = (r: WeightRole) => r === 'movingMean' || r === 'movingVariance';
  const trainableParams = shapes
    .filter(([r]) => !stats(r))
    .reduce((a, [, s]) => a + s.reduce((p, d) => p * d, 1), 0);
  return { shapes, trainableParams, setWeights: set };
}

/** A tfjs-layers model's weights as a {@link WeightHolder}. */
export function modelWeights(model: tfl.LayersModel): WeightHolder {
  return holder(
    model.weights.map(
      (w) => [roleOf(w.originalName ?? w.name), [...w.shape]] as [WeightRole, number[]],
    ),
    (ws) => model.setWeights(ws),
  );
}

/** A relkd `Module`'s variables (`namedVariables()` order) as a {@link WeightHolder}. */
export function moduleWeights(m: Module<never, tf.TensorContainer>): WeightHolder {
  const named: NamedVariable[] = m.namedVariables();
  return holder(
    named.map((v) => [roleOf(v.path), [...v.variable.shape]] as [WeightRole, number[]]),
    (ws) => m.setWeights(ws),
  );
}

/** A built whole step. */
export interface WholeStep {
  id: string;
  variant: StepVariant;
  distiller: Distiller;
  /**
   * The models and modules of the step, named as step_torch.py names them: `student`,
   * `teacher`, `stageModules` and `teacherHeads` (MTKD-SSR), `relationNetwork1..K` (CORSD).
   */
  weights: Record<string, WeightHolder>;
  dispose(): void;
}

let teacherCount = 0;

/**
 * Builds the Distiller of `variant` the way the MNIST benchmark's `runStudent` does (arm, tuned
 * configuration, Adam 0.005). `edit` may change the parts before the Distiller is made (the peer
 * test replaces the per-step random draws with the fixture's). MTKD-SSR's teacher stage heads
 * get initial weights (the benchmark fits them first; fitting does not change a step's cost).
 */
export function buildWholeStep(
  variant: StepVariant,
  options: {
    seed?: number;
    /** Changes to the tuned configuration (as `--tune` grids write them, e.g. `{ uep: 'none' }`). */
    overrides?: Config;
    edit?: (parts: DistillerParts) => DistillerParts;
  } = {},
): WholeStep {
  const { seed = 1000 } = options;
  const arm: Arm = armById(variant.method);
  const config = { ...configFor(arm, loadTuned().configs), ...options.overrides };
  const student: Net = buildStudent(seed, variant.arch);
  const teacher: Net | undefined =
    arm.teacher === undefined
      ? undefined
      : buildTeacher(seed + 1, `wt${teacherCount++}`, variant.arch);
  let teacherHeadWeights: tf.Tensor[] | undefined;
  if (variant.method === 'mtkd' && teacher !== undefined) {
    const probe = methods.mtkd.recipe({
      teacher: teacher.model,
      student: student.model,
      stages: { teacher: teacher.stages, student: student.stages },
      numClasses: 10,
      seed,
    });
    teacherHeadWeights = probe.teacherHeads!.getWeights();
    probe.dispose();
    probe.stageModules.dispose();
  }
  const built = arm.build({
    student,
    teacher,
    numClasses: 10,
    config,
    seed,
    // the recipe accepts tensors as well as SavedWeights (it copies them)
    teacherHeadWeights: teacherHeadWeights as never,
  });
  if (teacherHeadWeights !== undefined) for (const t of teacherHeadWeights) t.dispose();
  const parts = options.edit ? options.edit(built) : built;
  const optimizer = new FusedAdamOptimizer(STEP_LR);
  const distiller = new Distiller({
    student: student.model,
    teacher: teacher?.model,
    optimizer,
    seed,
    ...parts,
  });
  const weights: Record<string, WeightHolder> = { student: modelWeights(student.model) };
  if (teacher !== undefined) weights.teacher = modelWeights(teacher.model);
  const r = built as DistillerParts & {
    stageModules?: Module<never, tf.TensorContainer>;
    teacherHeads?: Module<never, tf.TensorContainer> | null;
    networks?: Module<never, tf.TensorContainer>[];
  };
  if (r.stageModules !== undefined) weights.stageModules = moduleWeights(r.stageModules);
  if (r.teacherHeads) weights.teacherHeads = moduleWeights(r.teacherHeads);
  r.networks?.forEach((n, k) => {
    weights[`relationNetwork${k + 1}`] = moduleWeights(n);
  });
  return {
    id: variantId(variant),
    variant,
    distiller,
    weights,
    dispose() {
      distiller.dispose();
      (built as { dispose?: () => void }).dispose?.();
      optimizer.dispose();
      student.model.dispose();
      teacher?.model.dispose();
    },
  };
}
