import { RelkdError, type TensorInput } from '@relkd/core';
import {
  assertNonEmpty,
  assertNumber,
  assertRank,
  formatShape,
  toLogits,
  toTensor,
} from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Which teacher stage teaches which student stage: a list of `[studentIdx, teacherIdx]` pairs
 * (0-based). Each student stage appears at most once; a teacher stage may teach several student
 * stages. Stages that appear in no pair take no part in the loss.
 *
 * @example
 * ```ts
 * // a 3-stage student learning from a 4-stage teacher
 * const mapping: StageMapping = [[0, 0], [1, 2], [2, 3]];
 * ```
 */
export type StageMapping = ReadonlyArray<readonly [number, number]>;

/** Internal: validates that `list` is a non-empty array of stage tensors. */
export function checkStageList(
  list: unknown,
  name: string,
): asserts list is readonly TensorInput[] {
  if (!Array.isArray(list)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must be an array with one tensor per stage (shallow to deep), got ${list === null ? 'null' : typeof list}.`,
      { name },
    );
  }
  if (list.length === 0) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must hold at least one stage, got an empty array.`,
      {
        name,
      },
    );
  }
}

/**
 * Internal: resolves the stage pairs. Without a mapping both lists must have the same number of
 * stages and stage k pairs with stage k.
 */
export function resolveMapping(
  numStudent: number,
  numTeacher: number,
  mapping: StageMapping | undefined,
  studentName: string,
  teacherName: string,
): Array<[number, number]> {
  if (mapping === undefined) {
    if (numStudent !== numTeacher) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`${studentName}\` has ${numStudent} stages but \`${teacherName}\` has ${numTeacher}. ` +
          'Stage k is paired with stage k only when both have the same number of stages; pass ' +
          '`options.mapping: [[studentIdx, teacherIdx], ...]` (e.g. `linearStageMapping(' +
          `${numStudent}, ${numTeacher})\`) to pair them explicitly.`,
        { names: [studentName, teacherName], stages: [numStudent, numTeacher] },
      );
    }
    return Array.from({ length: numStudent }, (_, k) => [k, k] as [number, number]);
  }
  if (!Array.isArray(mapping) || mapping.length === 0) {
    throw new RelkdError(
      'INVALID_OPTION',
      '`options.mapping` must be a non-empty array of [studentIdx, teacherIdx] pairs.',
      { mapping },
    );
  }
  const seen = new Set<number>();
  return mapping.map((pair, p) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`options.mapping[${p}]\` must be a [studentIdx, teacherIdx] pair, got ${JSON.stringify(pair)}.`,
        { index: p, pair },
      );
    }
    const [s, t] = pair as [unknown, unknown];
    assertNumber(s, `options.mapping[${p}][0]`, { min: 0, max: numStudent - 1, integer: true });
    assertNumber(t, `options.mapping[${p}][1]`, { min: 0, max: numTeacher - 1, integer: true });
    if (seen.has(s)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`options.mapping\` pairs student stage ${s} twice; each student stage may be taught by at most one teacher stage.`,
        { index: p, pair },
      );
    }
    seen.add(s);
    return [s, t];
  });
}

/** Internal: per-pair weights (default all 1); finite and `>= 0`. */
export function resolveWeights(
  weights: readonly number[] | undefined,
  n: number,
  name: string,
): number[] {
  if (weights === undefined) return new Array<number>(n).fill(1);
  if (!Array.isArray(weights) || weights.length !== n) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must hold one weight per stage pair (${n}), got ${Array.isArray(weights) ? `${weights.length} weights` : typeof weights}.`,
      { name, expected: n },
    );
  }
  weights.forEach((w, i) => {
    assertNumber(w, `${name}[${i}]`, { min: 0 });
  });
  return [...weights];
}

/** Internal: converts and checks one NHWC stage feature map `[B, H, W, C]`. */
export function toStageFeature(x: TensorInput, name: string): tf.Tensor4D {
  const t = toTensor(x, name, 'float');
  assertRank(
    t,
    4,
    name,
    'NHWC [B, H, W, C] stage feature map; pass the feature map before pooling',
  );
  assertNonEmpty(t, name);
  return t as tf.Tensor4D;
}

/** Internal: all tensors share the batch size of the first one. */
export function assertSameBatch(tensors: readonly tf.Tensor[], names: readonly string[]): void {
  const b = tensors[0]!.shape[0];
  tensors.forEach((t, i) => {
    if (t.shape[0] !== b) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `Every stage input must have the same batch size: \`${names[0]}\` has ${b} rows (shape ` +
          `${formatShape(tensors[0]!.shape)}) but \`${names[i]}\` has ${t.shape[0]} (shape ${formatShape(t.shape)}).`,
        { names: [names[0], names[i]], shapes: [tensors[0]!.shape, t.shape] },
      );
    }
  });
}

/** Internal: converts a list of stage logits `[B, C]` and checks they share B. */
export function toStageLogits(list: readonly TensorInput[], name: string): tf.Tensor2D[] {
  const out = list.map((z, k) => toLogits(z, `${name}[${k}]`));
  assertSameBatch(
    out,
    out.map((_, k) => `${name}[${k}]`),
  );
  return out;
}

/** Internal: the last axis of two paired tensors agrees. */
export function assertPairWidth(
  s: tf.Tensor,
  t: tf.Tensor,
  sName: string,
  tName: string,
  hint: string,
): void {
  const cs = s.shape[s.rank - 1];
  const ct = t.shape[t.rank - 1];
  if (cs !== ct) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `\`${sName}\` (shape ${formatShape(s.shape)}) and \`${tName}\` (shape ${formatShape(t.shape)}) ` +
        `must have the same last axis, got ${cs} and ${ct}. ${hint}`,
      { names: [sName, tName], shapes: [s.shape, t.shape] },
    );
  }
}

/** Internal: the stage pairs (`options.mapping`) and one weight per pair (`options.weights`). */
export function resolvePairing(
  numStudent: number,
  numTeacher: number,
  options: { mapping?: StageMapping; weights?: readonly number[] },
  studentName: string,
  teacherName: string,
): { pairs: Array<[number, number]>; weights: number[] } {
  const pairs = resolveMapping(numStudent, numTeacher, options.mapping, studentName, teacherName);
  const weights = resolveWeights(options.weights, pairs.length, 'options.weights');
  return { pairs, weights };
}

/**
 * Internal: converts the student and teacher stage lists with `convert`, checks that every
 * tensor has the batch size of the first student stage and that paired tensors have the same
 * last axis (`hint` ends that message). Call it inside `tf.tidy`.
 */
export function preparePairedStages<T extends tf.Tensor>(
  student: readonly TensorInput[],
  teacher: readonly TensorInput[],
  pairs: ReadonlyArray<readonly [number, number]>,
  names: readonly [string, string],
  convert: (x: TensorInput, name: string) => T,
  hint: string,
): { s: T[]; t: T[] } {
  const [sName, tName] = names;
  const s = student.map((x, k) => convert(x, `${sName}[${k}]`));
  const t = teacher.map((x, k) => convert(x, `${tName}[${k}]`));
  assertSameBatch(
    [...s, ...t],
    [...s.map((_, k) => `${sName}[${k}]`), ...t.map((_, k) => `${tName}[${k}]`)],
  );
  for (const [i, j] of pairs) {
    assertPairWidth(s[i]!, t[j]!, `${sName}[${i}]`, `${tName}[${j}]`, hint);
  }
  return { s, t };
}

/** Internal: `Σ_p w_p · term(i_p, j_p)` over the stage pairs (a weight of 1 multiplies nothing). */
export function sumOverPairs(
  pairs: ReadonlyArray<readonly [number, number]>,
  weights: readonly number[],
  term: (i: number, j: number) => tf.Scalar,
): tf.Scalar {
  const terms = pairs.map(([i, j], p) => {
    const value = term(i, j);
    return weights[p] === 1 ? value : tf.mul(value, weights[p]!);
  });
  return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar;
}

/**
 * A default stage pairing for a student with `numStudent` stages and a teacher with `numTeacher`
 * stages: student stage `s` learns from teacher stage `round((s + 1)·numTeacher/numStudent) − 1`,
 * so the deepest stages are always paired and equal counts give the identity `[[0,0],[1,1],…]`.
 * This spreading rule is relkd's choice (the paper pairs stages of equally deep networks).
 *
 * @example
 * ```ts
 * linearStageMapping(3, 4); // [[0, 0], [1, 2], [2, 3]]
 * linearStageMapping(4, 3); // [[0, 0], [1, 1], [2, 1], [3, 2]]
 * ```
 */
export function linearStageMapping(
  numStudent: number,
  numTeacher: number,
): Array<[number, number]> {
  assertNumber(numStudent, 'numStudent', { min: 1, integer: true });
  assertNumber(numTeacher, 'numTeacher', { min: 1, integer: true });
  return Array.from({ length: numStudent }, (_, s) => [
    s,
    Math.max(0, Math.round(((s + 1) * numTeacher) / numStudent) - 1),
  ]);
}
