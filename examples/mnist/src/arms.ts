/**
 * The arms of the benchmark: each method, the controls that isolate what a method adds, and the
 * ablations that switch one component off. An arm turns a (tuned) configuration into the
 * `Distiller` parts of one student run.
 */
import { DIGIT_SAFE_OPS, virtualView } from '@relkd/affinity-graph';
import { crossEntropy, kdLoss, type SavedWeights, softCrossEntropy } from '@relkd/core';
import type { DistillerParts, OfflineTeacherSource } from '@relkd/layers';
import { type MethodName, methodNames, methods } from '@relkd/layers/methods';
import { mixup } from '@relkd/mixup-similarity';
import { StageHead } from '@relkd/stage-distill';
import * as tf from '@tensorflow/tfjs-core';
import type { Net } from './models';

/** A method of the benchmark: CE (the baseline) or a registered relkd method. */
export type Method = 'ce' | MethodName;
/** CE, the baseline, and every method of `@relkd/layers/methods` (each tuned on the same budget). */
export const METHODS: readonly Method[] = ['ce', ...methodNames];

/** A run's hyper-parameters: plain data (sent to worker processes, committed as JSON). */
export type Config = Record<string, number | string | boolean>;

/** What an arm builds its parts from. */
export interface ArmContext {
  student: Net;
  teacher: Net | undefined;
  numClasses: number;
  /** The tuned configuration of the arm's family (method or control). */
  config: Config;
  seed: number;
  /** MTKD-SSR: the teacher's fitted stage heads (cached with the teacher). */
  teacherHeadWeights?: SavedWeights | undefined;
  /**
   * `--teacher-outputs`: the plain teacher's stored outputs, which replace the live teacher.
   * MTKD-SSR reads its stage outputs (`stageNames`) and stage-head logits from them.
   */
  offlineTeacher?: { source: OfflineTeacherSource; stageNames: string[] } | undefined;
}

/** Which tuned configuration an arm reads: a method's or the self-distillation control's. */
export type Family = Method | 'selfkd';

/** One row of the benchmark. */
export interface Arm {
  id: string;
  label: string;
  group: 'method' | 'control' | 'ablation';
  /** The tuned configuration it starts from. */
  family: Family;
  /** The teacher it distils from (`undefined`: no teacher). */
  teacher: 'plain' | 'icc' | undefined;
  /** For controls and ablations: what the row isolates. */
  note?: string;
  /** Overrides applied to the family's tuned configuration. */
  overrides?: Config;
  build: (ctx: ArmContext) => DistillerParts;
}

/** Digit-safe virtual-view ops (no solarize, no flip): `@relkd/affinity-graph`'s `DIGIT_SAFE_OPS`. */
export const DIGIT_VIEW_OPS = DIGIT_SAFE_OPS;

/** The virtual-view options of every arm that uses the view (VRM and its controls). */
function viewOptions(c: Config) {
  // magnitude on torchvision's RandAugment scale (0-30).
  return { numOps: 2, magnitude: c.magnitude as number, ops: DIGIT_VIEW_OPS };
}

const num = (c: Config, k: string) => c[k] as number;

function kdParts(c: Config): DistillerParts {
  return methods.kd.recipe({
    temperature: num(c, 'temperature'),
    weight: num(c, 'alpha'),
    ceWeight: 1 - num(c, 'alpha'),
  });
}

function vrmParts(ctx: ArmContext): DistillerParts {
  const c = ctx.config;
  const uep =
    c.uep === 'jointEntropy'
      ? { kind: 'jointEntropy' as const, ratio: num(c, 'uepRatio') }
      : c.uep === 'clip'
        ? { kind: 'clip' as const, delta: num(c, 'uepDelta') }
        : { kind: 'none' as const };
  return methods.vrm.recipe({
    weight: num(c, 'weight'),
    view: viewOptions(c),
    loss: {
      uep,
      isEdges: c.isEdges as 'cross' | 'upper',
      weights: { is: num(c, 'isWeight'), ic: num(c, 'icWeight') },
    },
  });
}

function stkdParts(ctx: ArmContext): DistillerParts {
  const c = ctx.config;
  return methods.stkd.recipe({
    numClasses: ctx.numClasses,
    alpha: num(c, 'alpha'),
    loss: {
      temperature: num(c, 'temperature'),
      kdWeight: num(c, 'kdWeight'),
      ceWeight: 1 - num(c, 'kdWeight'),
      targetMode: c.targetMode as 'teacherOnMixed' | 'mixedTeacherSoft',
    },
  });
}

function iccParts(ctx: ArmContext): DistillerParts {
  const c = ctx.config;
  return methods.icc.recipe({
    temperature: num(c, 'temperature'),
    kdWeight: 1,
    iccWeight: num(c, 'iccWeight'),
  });
}

function mtkdParts(ctx: ArmContext): DistillerParts {
  const c = ctx.config;
  const w = num(c, 'weight');
  const pretrain = c.teacherHeads !== 'final';
  const offline = ctx.offlineTeacher;
  if (pretrain && offline === undefined && ctx.teacherHeadWeights === undefined) {
    throw new Error('internal: MTKD-SSR needs the teacher stage heads fitted with the teacher.');
  }
  return methods.mtkd.recipe({
    teacherHeads: pretrain ? 'pretrain' : 'final',
    // Offline, the stage heads' logits come from the stored outputs (`<stage>_logits`).
    ...(pretrain && offline === undefined ? { teacherHeadWeights: ctx.teacherHeadWeights! } : {}),
    teacher: offline?.source ?? ctx.teacher!.model,
    student: ctx.student.model,
    stages: {
      teacher: offline?.stageNames ?? ctx.teacher!.stages,
      student: ctx.student.stages,
    },
    numClasses: ctx.numClasses,
    seed: ctx.seed,
    loss: {
      temperature: num(c, 'temperature'),
      scdWeight: w * num(c, 'scd'),
      srdWeight: w * num(c, 'srd'),
      crdWeight: w * num(c, 'crd'),
    },
  });
}

function corsdParts(ctx: ArmContext): DistillerParts {
  const c = ctx.config;
  const off = (k: string) => c[k] === false;
  return methods.corsd.recipe({
    student: ctx.student.model,
    stages: ctx.student.stages,
    numClasses: ctx.numClasses,
    seed: ctx.seed,
    weight: num(c, 'weight'),
    loss: {
      tSquared: c.tSquared === true,
      ...(off('pairCe') ? { ceWeight: 0 } : {}),
      ...(off('negative') ? { negKdWeight: 0, negCeWeight: 0 } : {}),
      ...(off('tripletScore') ? { tripletWeight: 0, scoreWeight: 0 } : {}),
      ...(off('distill') ? { kdWeight: 0, negKdWeight: 0, scoreWeight: 0 } : {}),
    },
  });
}

/** CE on the real batch + CE on a virtual view (the augmentation of VRM, no teacher). */
function ceViewParts(ctx: ArmContext): DistillerParts {
  return {
    batchTransform: (batch, bc) => ({
      ...batch,
      views: {
        ...batch.views,
        virtual: virtualView(batch.x, { ...viewOptions(ctx.config), seed: bc.seed }),
      },
    }),
    terms: [
      {
        name: 'virtualCe',
        loss: (t) => crossEntropy(t.student.views.virtual!.logits as tf.Tensor2D, t.batch.y),
      },
    ],
  };
}

/** Hinton KD on the real batch and on the same virtual view VRM uses: VRM's yardstick. */
function kdViewParts(ctx: ArmContext): DistillerParts {
  const c = ctx.config;
  const kd = kdParts(c);
  return {
    ...kd,
    batchTransform: ceViewParts(ctx).batchTransform!,
    terms: [
      ...(kd.terms ?? []),
      {
        name: 'kdVirtual',
        weight: num(c, 'alpha'),
        loss: (t) =>
          kdLoss(
            t.student.views.virtual!.logits as tf.Tensor2D,
            t.teacher!.views.virtual!.logits as tf.Tensor2D,
            { temperature: num(c, 'temperature') },
          ),
      },
    ],
  };
}

/** Mixup with mixed-label CE only: STKD's data without the similarity (teacher) term. */
function ceMixupParts(ctx: ArmContext): DistillerParts {
  const alpha = num(ctx.config, 'alpha');
  return {
    ceWeight: 0,
    batchTransform: (batch, bc) => {
      const m = mixup(batch.x, batch.y, { numClasses: ctx.numClasses, alpha, seed: bc.seed });
      return { ...batch, x: m.inputs, data: { ...batch.data, targets: m.targets } };
    },
    terms: [
      {
        name: 'mixedCe',
        loss: (t) =>
          softCrossEntropy(t.student.logits as tf.Tensor2D, t.batch.data.targets as tf.Tensor2D),
      },
    ],
  };
}

/**
 * Plain deepest-to-shallow self-distillation (CORSD's yardstick): an auxiliary classifier
 * (MTKD-SSR's stage head) on each shallow stage, trained with CE and with Hinton KD from the
 * network's own final logits (no relation networks, no teacher).
 */
function selfKdParts(ctx: ArmContext): DistillerParts {
  const c = ctx.config;
  const T = num(c, 'temperature');
  const stages = ctx.student.stages;
  const shapes = stages.map((name) => {
    const s = ctx.student.model.getLayer(name).outputShape as number[];
    return s;
  });
  const heads = stages.slice(0, -1).map(
    (_, k) =>
      new StageHead({
        inChannels: shapes[k]![3]!,
        numClasses: ctx.numClasses,
        downsample: stages.length - 1 - k,
        seed: ctx.seed + 101 * (k + 1),
        name: `selfkd_head${k + 1}`,
      }),
  );
  return {
    taps: { student: { features: stages } },
    modules: heads as never[],
    terms: [
      {
        name: 'selfkd',
        weight: num(c, 'weight'),
        loss: (t) => {
          const final = t.student.logits as tf.Tensor2D;
          let ce: tf.Scalar | undefined;
          let kd: tf.Scalar | undefined;
          heads.forEach((h, k) => {
            const z = h.apply(t.student.features[stages[k]!]!, { training: true }) as tf.Tensor2D;
            const ceK = crossEntropy(z, t.batch.y);
            const kdK = kdLoss(z, final, { temperature: T });
            ce = ce === undefined ? ceK : tf.add<tf.Scalar>(ce, ceK);
            kd = kd === undefined ? kdK : tf.add<tf.Scalar>(kd, kdK);
          });
          return { total: tf.add<tf.Scalar>(ce!, kd!), ce: ce!, kd: kd! };
        },
      },
    ],
  };
}

const none = (): DistillerParts => ({});

/** How each method's tuned configuration becomes its recipe's options (see `tuning.ts`). */
const METHOD_PARTS: Record<MethodName, Arm['build']> = {
  kd: (c) => kdParts(c.config),
  vrm: vrmParts,
  stkd: stkdParts,
  icc: iccParts,
  mtkd: mtkdParts,
  corsd: corsdParts,
};

/** What a method row's label adds to the registry's label. */
const LABEL_NOTES: Partial<Record<MethodName, string>> = {
  icc: ' (expressive teacher)',
  corsd: ' (self-distillation)',
};

/**
 * The methods (tuned) and the baseline: one row per registered method, its label and teacher
 * from the registry (no teacher for self-distillation; ICC's own teacher, trained with its
 * teacher recipe, for a method that has one; otherwise the plain CE teacher).
 */
const METHOD_ARMS: Arm[] = [
  {
    id: 'ce',
    label: 'Baseline (CE only)',
    group: 'method',
    family: 'ce',
    teacher: undefined,
    build: none,
  },
  ...methodNames.map(
    (name): Arm => ({
      id: name,
      label: `${methods[name].label}${LABEL_NOTES[name] ?? ''}`,
      group: 'method',
      family: name,
      teacher: !methods[name].needsTeacher
        ? undefined
        : 'teacherRecipe' in methods[name]
          ? 'icc'
          : 'plain',
      build: METHOD_PARTS[name],
    }),
  ),
];

/** Controls: each isolates what one method adds beyond its data or its teacher. */
const CONTROL_ARMS: Arm[] = [
  {
    id: 'ce+view',
    label: 'CE + virtual-view augmentation',
    group: 'control',
    family: 'vrm',
    teacher: undefined,
    note: 'VRM’s augmentation without a teacher',
    build: ceViewParts,
  },
  {
    id: 'kd+view',
    label: 'KD + virtual-view augmentation',
    group: 'control',
    family: 'kd',
    teacher: 'plain',
    note: 'VRM’s yardstick: KD (tuned) on the real and the same virtual view',
    build: kdViewParts,
  },
  {
    id: 'kd@icc',
    label: 'KD from the ICC teacher',
    group: 'control',
    family: 'kd',
    teacher: 'icc',
    note: 'ICC’s yardstick: the same teacher, no correlation mimic',
    build: (c) => kdParts(c.config),
  },
  {
    id: 'ce+mixup',
    label: 'CE on mixup',
    group: 'control',
    family: 'stkd',
    teacher: undefined,
    note: 'STKD’s data (same α) without the similarity term',
    build: ceMixupParts,
  },
  {
    id: 'selfkd',
    label: 'Deepest-to-shallow self-KD',
    group: 'control',
    family: 'selfkd',
    teacher: undefined,
    note: 'CORSD’s yardstick: logit KD from the final head to shallow heads (tuned), no relation networks',
    build: selfKdParts,
  },
];

/** Ablations: each switches one component of a method off (the rest as tuned). */
const ABLATION_ARMS: Arm[] = [
  ...(
    [
      ['vrm-is', 'VRM without the IS graph', { isWeight: 0 }],
      ['vrm-ic', 'VRM without the IC graph', { icWeight: 0 }],
      ['vrm-view', 'VRM without the virtual view (identity view)', { magnitude: 0 }],
      ['vrm-rep', 'VRM without redundant-edge pruning (full IS graph)', { isEdges: 'upper' }],
      ['vrm-uep', 'VRM without unreliable-edge pruning', { uep: 'none' }],
    ] as const
  ).map(([id, label, overrides]) => ({
    id,
    label,
    group: 'ablation' as const,
    family: 'vrm' as const,
    teacher: 'plain' as const,
    overrides: overrides as Config,
    build: vrmParts,
  })),
  ...(
    [
      ['stkd-mode', 'STKD with the other target mode', { targetMode: 'flip' }],
      ['stkd-mixup', 'STKD without mixup (α = 0: λ = 1)', { alpha: 0 }],
    ] as const
  ).map(([id, label, overrides]) => ({
    id,
    label,
    group: 'ablation' as const,
    family: 'stkd' as const,
    teacher: 'plain' as const,
    overrides: overrides as Config,
    build: stkdParts,
  })),
  {
    id: 'icc-mimic',
    label: 'ICC without the correlation mimic term',
    group: 'ablation',
    family: 'icc',
    teacher: 'icc',
    overrides: { iccWeight: 0 },
    build: iccParts,
  },
  {
    id: 'icc-regteacher',
    label: 'ICC with the plain (unregularised) teacher',
    group: 'ablation',
    family: 'icc',
    teacher: 'plain',
    build: iccParts,
  },
  ...(
    [
      ['mtkd-scd', 'MTKD-SSR without SCD', { scd: 0 }],
      ['mtkd-srd', 'MTKD-SSR without SRD', { srd: 0 }],
      ['mtkd-crd', 'MTKD-SSR without CRD', { crd: 0 }],
      ['mtkd-heads', 'MTKD-SSR without teacher stage heads', { teacherHeads: 'final' }],
    ] as const
  ).map(([id, label, overrides]) => ({
    id,
    label,
    group: 'ablation' as const,
    family: 'mtkd' as const,
    teacher: 'plain' as const,
    overrides: overrides as Config,
    build: mtkdParts,
  })),
  ...(
    [
      ['corsd-pairce', 'CORSD without the pair CE', { pairCe: false }],
      ['corsd-neg', 'CORSD without the negative pairs', { negative: false }],
      ['corsd-triplet', 'CORSD without the triplet and score terms', { tripletScore: false }],
      ['corsd-distill', 'CORSD without distillation to shallow stages', { distill: false }],
    ] as const
  ).map(([id, label, overrides]) => ({
    id,
    label,
    group: 'ablation' as const,
    family: 'corsd' as const,
    teacher: undefined,
    overrides: overrides as Config,
    build: corsdParts,
  })),
];

/** Every arm, by id. */
export const ARMS: readonly Arm[] = [...METHOD_ARMS, ...CONTROL_ARMS, ...ABLATION_ARMS];

/** The arm with this id (throws for an unknown id). */
export function armById(id: string): Arm {
  const a = ARMS.find((x) => x.id === id);
  if (a === undefined) throw new Error(`unknown arm '${id}'`);
  return a;
}

/** The controls run beside `methods` (a control appears when its method does). */
export function controlsFor(methods: readonly Method[]): Arm[] {
  const wants: Record<string, Method> = {
    'ce+view': 'vrm',
    'kd+view': 'vrm',
    'kd@icc': 'icc',
    'ce+mixup': 'stkd',
    selfkd: 'corsd',
  };
  return CONTROL_ARMS.filter((a) => methods.includes(wants[a.id]!));
}

/** The ablation rows of a method (none for CE and KD). */
export function ablationsOf(method: Method): Arm[] {
  return ABLATION_ARMS.filter((a) => a.family === method);
}

/** The configuration a run of `arm` uses: the family's tuned one with the arm's overrides. */
export function configFor(arm: Arm, tuned: Record<string, Config>): Config {
  const base = tuned[arm.family] ?? {};
  const c: Config = { ...base, ...(arm.overrides ?? {}) };
  if (c.targetMode === 'flip') {
    c.targetMode = base.targetMode === 'mixedTeacherSoft' ? 'teacherOnMixed' : 'mixedTeacherSoft';
  }
  return c;
}
