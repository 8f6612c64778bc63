import {
  type VirtualViewOptions,
  type VrmLossOptions,
  virtualView,
  vrmLoss,
} from '@relkd/affinity-graph';
import {
  ClassCorrelationTracker,
  type IccStudentLossOptions,
  iccStudentLoss,
  type TeacherRegularizerOptions,
  teacherRegularizer,
} from '@relkd/class-correlation';
import { crossEntropy, kdLoss, RelkdError } from '@relkd/core';
import { mixup, type StkdLossOptions, stkdLoss } from '@relkd/mixup-similarity';
import {
  buildRelationNetworks,
  type CorsdLossOptions,
  corsdLoss,
  type RelationNetwork,
  relationStages,
  type TripletIndices,
  tripletIndices,
} from '@relkd/relation-network';
import {
  buildStageModules,
  type MtkdLossOptions,
  mtkdLoss,
  type StageModules,
} from '@relkd/stage-distill';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DistillerParts, TermContext } from './Distiller';
import { tap } from './tap';

function teacherOf(ctx: TermContext, method: string) {
  if (ctx.teacher === undefined) {
    throw new RelkdError(
      'INVALID_OPTION',
      `recipes.${method} needs a teacher: pass { teacher } to the Distiller.`,
    );
  }
  return ctx.teacher;
}

function logits2d(t: tf.Tensor): tf.Tensor2D {
  return t as tf.Tensor2D;
}

/** Stage output shapes `[H, W, C]` (NHWC without batch) of the named layers of `model`. */
export function stageShapes(
  model: tfl.LayersModel,
  layers: readonly string[],
): Array<[number, number, number]> {
  const t = tap(model, { features: layers });
  return t.model.outputs.slice(1).map((o, k) => {
    const s = o.shape;
    if (s.length !== 4 || s.slice(1).some((d) => d === null)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `stage '${layers[k]}' of '${model.name}' must output a fixed-size NHWC feature map [B, H, W, C], got ${JSON.stringify(s)}.`,
      );
    }
    return [s[1]!, s[2]!, s[3]!] as [number, number, number];
  });
}

/** Options of {@link recipes.kd}. */
export interface KdRecipeOptions {
  /** Softmax temperature. Default 4. */
  temperature?: number;
  /** Weight of the KD term. Default 1. */
  weight?: number;
  /** Weight of the student's CE on the labels. Default 1. */
  ceWeight?: number;
}

/** Hinton KD: `ceWeight·CE + weight·T²·KL(teacher_T ‖ student_T)`. */
function kd(options: KdRecipeOptions = {}): DistillerParts {
  const { temperature = 4, weight = 1, ceWeight = 1 } = options;
  return {
    ceWeight,
    terms: [
      {
        name: 'kd',
        weight,
        loss: (ctx) =>
          kdLoss(logits2d(ctx.student.logits), logits2d(teacherOf(ctx, 'kd').logits), {
            temperature,
          }),
      },
    ],
  };
}

/** Options of {@link recipes.vrm}. */
export interface VrmRecipeOptions {
  /** Weight of the VRM term. Default 1. */
  weight?: number;
  /** Weight of the student's CE on the real batch. Default 1. */
  ceWeight?: number;
  /** Also add the student's CE on the virtual view (labels are preserved). Default false. */
  virtualCe?: boolean;
  /** Options of `virtualView` (use label-preserving ops; the default op list has no flip). Seeds come from the step. */
  view?: Omit<VirtualViewOptions, 'seed'>;
  /** Options of `vrmLoss`. */
  loss?: VrmLossOptions;
  /** Also add Hinton KD on the real view with this weight. Default 0. */
  kdWeight?: number;
  /** KD temperature when `kdWeight > 0`. Default 4. */
  temperature?: number;
}

/** VRM: a virtual view per batch; matches the student's inter-sample and inter-class affinity graphs to the teacher's. */
function vrm(options: VrmRecipeOptions = {}): DistillerParts {
  const {
    weight = 1,
    ceWeight = 1,
    virtualCe = false,
    view = {},
    loss = {},
    kdWeight = 0,
    temperature = 4,
  } = options;
  const terms: DistillerParts['terms'] = [
    {
      name: 'vrm',
      weight,
      loss: (ctx) => {
        const t = teacherOf(ctx, 'vrm');
        const sv = ctx.student.views.virtual;
        const tv = t.views.virtual;
        if (sv === undefined || tv === undefined) {
          throw new RelkdError(
            'INVALID_OPTION',
            "recipes.vrm: the batch has no `virtual` view (keep the recipe's batchTransform).",
          );
        }
        return vrmLoss(
          {
            student: { real: ctx.student.logits, virtual: sv.logits },
            teacher: { real: t.logits, virtual: tv.logits },
          },
          loss,
        ) as unknown as { total: tf.Scalar } & Record<string, tf.Scalar>;
      },
    },
  ];
  if (virtualCe) {
    terms.push({
      name: 'virtualCe',
      weight: ceWeight,
      loss: (ctx) => {
        const sv = ctx.student.views.virtual!;
        return kdFreeCe(sv.logits, ctx.batch.y);
      },
    });
  }
  if (kdWeight > 0) {
    terms.push({
      name: 'kd',
      weight: kdWeight,
      loss: (ctx) =>
        kdLoss(logits2d(ctx.student.logits), logits2d(teacherOf(ctx, 'vrm').logits), {
          temperature,
        }),
    });
  }
  return {
    ceWeight,
    batchTransform: (batch, c) => ({
      ...batch,
      views: { ...batch.views, virtual: virtualView(batch.x, { ...view, seed: c.seed }) },
    }),
    terms,
  };
}

function kdFreeCe(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return crossEntropy(logits2d(logits), labels);
}

/** Options of {@link recipes.stkd}. */
export interface StkdRecipeOptions {
  /** Number of classes (for the mixed targets). */
  numClasses: number;
  /** Mixup's Beta(α, α) parameter. Default 1. */
  alpha?: number;
  /** One λ per sample instead of per batch. Default false. */
  perSample?: boolean;
  /** Options of `stkdLoss` (temperature 4, ceWeight 0.1, kdWeight 0.9, targetMode 'teacherOnMixed'). */
  loss?: StkdLossOptions;
  /** Weight of the STKD term. Default 1. */
  weight?: number;
}

/**
 * STKD: mixup virtual samples each batch; the student learns the mixed labels (CE inside the
 * loss) and the teacher's distribution on the mixed images. The student's plain CE is off.
 */
function stkd(options: StkdRecipeOptions): DistillerParts {
  const { numClasses, alpha = 1, perSample = false, loss = {}, weight = 1 } = options;
  const mode = loss.targetMode ?? 'teacherOnMixed';
  return {
    ceWeight: 0,
    batchTransform: (batch, c) => {
      const m = mixup(batch.x, batch.y, { numClasses, alpha, perSample, seed: c.seed });
      return {
        ...batch,
        x: m.inputs,
        ...(mode === 'mixedTeacherSoft'
          ? { teacherViews: { ...batch.teacherViews, clean: batch.x } }
          : {}),
        data: { ...batch.data, mixup: m },
      };
    },
    terms: [
      {
        name: 'stkd',
        weight,
        loss: (ctx) => {
          const t = teacherOf(ctx, 'stkd');
          const m = ctx.batch.data.mixup as ReturnType<typeof mixup>;
          const teacher =
            mode === 'mixedTeacherSoft'
              ? { clean: t.views.clean!.logits, lambda: m.lambda, permutation: m.permutation }
              : t.logits;
          return stkdLoss(
            { student: ctx.student.logits, teacher, targets: m.targets },
            loss,
          ) as unknown as {
            total: tf.Scalar;
          } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
}

/** Options of {@link recipes.icc}. */
export type IccRecipeOptions = IccStudentLossOptions & {
  /** Weight of the ICC student term (which contains CE, KD and the correlation mimic). Default 1. */
  weight?: number;
};

/**
 * ICC (student side): `CE + kdWeight·KD + iccWeight·‖G_T/‖G_T‖ − G_S/‖G_S‖‖²`. Pair it with a
 * teacher trained with {@link recipes.iccTeacher} (the "expressive teacher").
 */
function icc(options: IccRecipeOptions = {}): DistillerParts {
  const { weight = 1, ...loss } = options;
  return {
    ceWeight: 0,
    terms: [
      {
        name: 'icc',
        weight,
        loss: (ctx) =>
          iccStudentLoss(
            {
              student: ctx.student.logits,
              teacher: teacherOf(ctx, 'icc').logits,
              labels: ctx.batch.y,
            },
            loss,
          ) as unknown as { total: tf.Scalar } & Record<string, tf.Scalar>,
      },
    ],
  };
}

/** Options of {@link recipes.iccTeacher}. */
export type IccTeacherRecipeOptions = TeacherRegularizerOptions & {
  numClasses: number;
  /** Temperature of the tracked class probabilities. Default 1. */
  trackerTemperature?: number;
};

/**
 * ICC (teacher side): trains the model passed as `student` (no teacher) with
 * `(1 − weight)·CE + weight·softCE(logits, A[y])`, where `A` is a {@link ClassCorrelationTracker}
 * updated from the correctly classified training samples and refreshed every epoch.
 * Returns the tracker too (its state is saved with the distiller's modules).
 */
function iccTeacher(
  options: IccTeacherRecipeOptions,
): DistillerParts & { tracker: ClassCorrelationTracker } {
  const { numClasses, trackerTemperature = 1, ...reg } = options;
  const tracker = new ClassCorrelationTracker({ numClasses, temperature: trackerTemperature });
  return {
    tracker,
    ceWeight: 0,
    modules: [tracker as never],
    hooks: { onEpochEnd: () => tracker.endEpoch() },
    terms: [
      {
        name: 'iccTeacher',
        loss: (ctx) => {
          tracker.accumulate(ctx.student.logits, ctx.batch.y);
          return teacherRegularizer(
            { logits: ctx.student.logits, labels: ctx.batch.y, tracker },
            reg,
          ) as unknown as {
            total: tf.Scalar;
          } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
}

/** Options of {@link recipes.mtkd}. */
export interface MtkdRecipeOptions {
  teacher: tfl.LayersModel;
  student: tfl.LayersModel;
  /** Layer names of the stage outputs (NHWC), shallow to deep. */
  stages: { teacher: readonly string[]; student: readonly string[] };
  numClasses: number;
  /** Options of `mtkdLoss` (weights, temperature, review pairs, mapping). */
  loss?: MtkdLossOptions;
  /** Seed of the adapters and stage heads. Default 0. */
  seed?: number;
  /**
   * Teacher responses of the earlier stages. `'final'` (default, ours): the frozen teacher has no
   * stage heads, so every student stage head distils from the teacher's final logits.
   */
  teacherStageLogits?: 'final';
}

/**
 * MTKD-SSR: channel adapters + stage heads for the student (trained with it), stage-wise channel
 * (SCD), response (SRD) and cross-stage review (CRD) distillation. CE is inside `mtkdLoss`.
 * Returns the built modules too.
 */
function mtkd(options: MtkdRecipeOptions): DistillerParts & { stageModules: StageModules } {
  const { teacher, student, stages, numClasses, loss = {}, seed = 0 } = options;
  const built = buildStageModules({
    studentStages: stageShapes(student, stages.student),
    teacherStages: stageShapes(teacher, stages.teacher),
    numClasses,
    seed,
  });
  const mods = built.student;
  const teacherK = stages.teacher.length;
  return {
    stageModules: mods,
    ceWeight: 0,
    taps: { teacher: { features: stages.teacher }, student: { features: stages.student } },
    modules: [mods as never],
    terms: [
      {
        name: 'mtkd',
        loss: (ctx) => {
          const t = teacherOf(ctx, 'mtkd');
          const sf = stages.student.map((n) => ctx.student.features[n]!);
          const tf_ = stages.teacher.map((n) => t.features[n]!);
          const out = mods.apply(sf, { training: true });
          return mtkdLoss(
            {
              studentFeatures: out.features,
              teacherFeatures: tf_,
              studentStageLogits: [...out.logits, ctx.student.logits],
              teacherStageLogits: Array.from({ length: teacherK }, () => t.logits),
              labels: ctx.batch.y,
            },
            { mapping: built.mapping, ...loss },
          ) as unknown as { total: tf.Scalar } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
}

/** Options of {@link recipes.corsd}. */
export interface CorsdRecipeOptions {
  student: tfl.LayersModel;
  /** Layer names of the student's stage outputs (NHWC), shallow to deepest. */
  stages: readonly string[];
  numClasses: number;
  /** Options of `corsdLoss` (CORSD's released weights by default). */
  loss?: CorsdLossOptions;
  /** Weight of the CORSD term. Default 1. */
  weight?: number;
  /** Width of the relation networks' embedding. Default 16·C₁ (CORSD). */
  embeddingWidth?: number;
  /** Seed of the relation networks. Default 0. */
  seed?: number;
}

/**
 * CORSD: self-distillation (no teacher). Each batch is arranged into triplets; one relation
 * network per stage scores (anchor, positive) and (anchor, negative) pairs of stage features and
 * classifies them; the deepest network teaches the shallower ones. The student's own CE stays on.
 * Returns the relation networks too.
 */
function corsd(options: CorsdRecipeOptions): DistillerParts & { networks: RelationNetwork[] } {
  const { student, stages, numClasses, loss = {}, weight = 1, seed = 0 } = options;
  const networks = buildRelationNetworks({
    stageShapes: stageShapes(student, stages),
    numClasses,
    seed,
    ...(options.embeddingWidth === undefined ? {} : { embeddingWidth: options.embeddingWidth }),
  });
  return {
    networks,
    ceWeight: 1,
    taps: { student: { features: stages } },
    modules: networks as never[],
    batchTransform: (batch, c) => ({
      ...batch,
      data: { ...batch.data, triplet: tripletIndices(batch.y, { seed: c.seed, numClasses }) },
    }),
    terms: [
      {
        name: 'corsd',
        weight,
        loss: (ctx) => {
          const t = ctx.batch.data.triplet as TripletIndices;
          const feats = stages.map((n) => ctx.student.features[n] as tf.Tensor4D);
          const st = relationStages(networks, feats, t, { training: true });
          return corsdLoss(
            { stages: st, anchorLabels: ctx.batch.y, negativeLabels: t.negativeLabels },
            loss,
          ) as unknown as {
            total: tf.Scalar;
          } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
}

/**
 * Ready-made {@link DistillerParts} for each method, spread into a {@link Distiller} config:
 *
 * ```ts
 * const distiller = new Distiller({ teacher, student, optimizer, ...recipes.vrm() });
 * await distiller.fit({ x, y }, { epochs: 10, batchSize: 64, progress: true });
 * ```
 */
export const recipes = { kd, vrm, stkd, icc, iccTeacher, mtkd, corsd };
