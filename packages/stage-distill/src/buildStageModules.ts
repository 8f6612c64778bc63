import { RelkdError } from '@relkd/core';
import { assertNumber, childSeed } from '@relkd/core/internal';
import { ChannelAdapter } from './ChannelAdapter';
import { StageHead } from './StageHead';
import { StageHeads } from './StageHeads';
import { StageModules } from './StageModules';
import { linearStageMapping, resolveMapping, type StageMapping } from './stages';

/** A stage output shape without the batch axis, NHWC: `[H, W, C]`. */
export type StageShape = readonly [number, number, number];

/** Options of {@link buildStageModules}. */
export interface BuildStageModulesOptions {
  /** Student stage output shapes `[H, W, C]`, shallow to deep. */
  studentStages: readonly StageShape[];
  /** Teacher stage output shapes `[H, W, C]`, shallow to deep. */
  teacherStages: readonly StageShape[];
  /** Number of classes of the stage heads. */
  numClasses: number;
  /** Seed of every initialiser (each module gets a derived seed). Default `0`. */
  seed?: number;
  /**
   * `[studentIdx, teacherIdx]` pairs. Default: stage k with stage k when the counts are equal,
   * else {@link linearStageMapping}.
   */
  mapping?: StageMapping;
  /** Also build stage heads for the teacher (to produce `teacherStageLogits`). Default `false`. */
  teacherHeads?: boolean;
}

/** What {@link buildStageModules} returns. */
export interface StageModuleSet {
  /** The student's adapters and heads as one trainable module. */
  student: StageModules;
  /** The teacher's stage heads when `teacherHeads: true`, else `null`. */
  teacher: StageHeads | null;
  /** The stage pairs used (pass as `options.mapping` to the losses). */
  mapping: Array<[number, number]>;
  /** `downsample` of each student head (K_S − 1 entries). */
  studentDownsample: number[];
  /** `downsample` of each teacher head (K_T − 1 entries; computed even without teacher heads). */
  teacherDownsample: number[];
  /** Disposes every module built. */
  dispose(): void;
}

/**
 * The number of SepConv blocks (stride 2, each `H -> ceil(H/2)`) a head on a stage of spatial
 * size `[h, w]` needs to reach the deepest stage's size `[hDeep, wDeep]`: the smallest `d >= 0`
 * with `ceil^d(h/2) <= hDeep` and `ceil^d(w/2) <= wDeep` (0 when the stage is already that small).
 *
 * @example
 * ```ts
 * downsampleFor([32, 32], [8, 8]); // 2
 * downsampleFor([7, 7], [4, 4]);   // 1
 * ```
 */
export function downsampleFor(
  shape: readonly [number, number],
  deepest: readonly [number, number],
): number {
  let [h, w] = shape;
  const [hd, wd] = deepest;
  let d = 0;
  while (h > hd || w > wd) {
    h = Math.ceil(h / 2);
    w = Math.ceil(w / 2);
    d++;
  }
  return d;
}

function checkShapes(stages: unknown, name: string): asserts stages is readonly StageShape[] {
  if (!Array.isArray(stages) || stages.length === 0) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must be a non-empty array of [H, W, C] stage shapes (NHWC without the batch axis).`,
      { name },
    );
  }
  stages.forEach((s, k) => {
    if (!Array.isArray(s) || s.length !== 3) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`${name}[${k}]\` must be an [H, W, C] shape, got ${JSON.stringify(s)}. Drop the batch axis.`,
        { name, index: k },
      );
    }
    s.forEach((d: unknown, i: number) => {
      assertNumber(d, `${name}[${k}][${i}]`, { min: 1, integer: true });
    });
  });
}

function headsFor(stages: readonly StageShape[], numClasses: number, seed: number, prefix: string) {
  const deepest = stages[stages.length - 1]!;
  const downsample = stages
    .slice(0, -1)
    .map(([h, w]) => downsampleFor([h, w], [deepest[0], deepest[1]]));
  const build = () =>
    new StageHeads(
      downsample.map(
        (d, k) =>
          new StageHead({
            inChannels: stages[k]![2],
            numClasses,
            downsample: d,
            seed: childSeed(seed, k),
            name: `${prefix}Head${k}`,
          }),
      ),
      `${prefix}StageHeads`,
    );
  return { downsample, build };
}

/**
 * Builds the trainable pieces MTKD-SSR needs for a given teacher/student pair, described only by
 * their stage output shapes:
 *
 * - one {@link ChannelAdapter}`(C^S_s, C^T_t)` per stage pair `[s, t]` of the mapping (always, also
 *   when the widths agree, as in Channel Distillation);
 * - one {@link StageHead} per student stage but the deepest, with `downsample` chosen by
 *   {@link downsampleFor} so the head's last SepConv output is no larger than the deepest
 *   stage's H×W (the rule: halve with `ceil` until both sides fit; channels double per block);
 * - optionally the same heads for the teacher (`teacherHeads: true`).
 *
 * Seeds are derived from `seed` (student adapters/heads, teacher heads each get their own).
 *
 * @throws RelkdError `INVALID_OPTION` (bad shapes, classes, seed or mapping)
 * @example
 * ```ts
 * const { student, mapping } = buildStageModules({
 *   studentStages: [[16, 16, 16], [8, 8, 32], [4, 4, 64]],
 *   teacherStages: [[16, 16, 64], [8, 8, 128], [4, 4, 256]],
 *   numClasses: 10, seed: 1,
 * });
 * // student heads: downsample [2, 1]; adapters 16→64, 32→128, 64→256
 * ```
 */
export function buildStageModules(options: BuildStageModulesOptions): StageModuleSet {
  const { studentStages, teacherStages, numClasses, seed = 0, teacherHeads = false } = options;
  checkShapes(studentStages, 'studentStages');
  checkShapes(teacherStages, 'teacherStages');
  assertNumber(numClasses, 'numClasses', { min: 1, integer: true });
  assertNumber(seed, 'seed', { integer: true });
  const mapping = resolveMapping(
    studentStages.length,
    teacherStages.length,
    options.mapping ??
      (studentStages.length === teacherStages.length
        ? undefined
        : linearStageMapping(studentStages.length, teacherStages.length)),
    'studentStages',
    'teacherStages',
  );
  const sHeads = headsFor(studentStages, numClasses, childSeed(seed, 1), 'student');
  const tHeads = headsFor(teacherStages, numClasses, childSeed(seed, 2), 'teacher');
  const adapterSeed = childSeed(seed, 0);
  const adapters = mapping.map(
    ([s, t], p) =>
      new ChannelAdapter(studentStages[s]![2], teacherStages[t]![2], {
        seed: childSeed(adapterSeed, p),
        name: `adapter${p}`,
      }),
  );
  const student = new StageModules(studentStages.length, mapping, adapters, sHeads.build());
  const teacher = teacherHeads ? tHeads.build() : null;
  return {
    student,
    teacher,
    mapping,
    studentDownsample: sHeads.downsample,
    teacherDownsample: tHeads.downsample,
    dispose() {
      student.dispose();
      teacher?.dispose();
    },
  };
}
