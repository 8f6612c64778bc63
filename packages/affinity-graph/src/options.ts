import { RelkdError } from '@relkd/core';
import { assertNumber, assertOneOf } from '@relkd/core/internal';

/**
 * Which inter-sample edges survive redundant-edge pruning (REP).
 * - `'cross'` (default): the cross-view block `{(i, B + j) : i, j < B}`, B² edges, including the
 *   edge between an image and its own virtual view (`i = j`).
 * - `'upper'`: the strict upper triangle of the full `2B x 2B` graph, `B(2B − 1)` edges.
 */
export type IsEdges = 'cross' | 'upper';

/**
 * Unreliable-edge pruning (UEP).
 * - `{ kind: 'none' }` (default): keep every valid edge.
 * - `{ kind: 'clip', delta }`: drop the edge entries with `|E^s − E^t| > delta` (elementwise,
 *   both graphs), `delta > 0`.
 * - `{ kind: 'jointEntropy', ratio }`: drop the `floor(ratio · E)` kept inter-sample edges with the
 *   largest `H_m + H_n` (entropy of the softmax of the student's raw logits), `0 < ratio <= 1`.
 *   Inter-class edges are not affected.
 */
export type UepOption =
  | { kind: 'none' }
  | { kind: 'clip'; delta: number }
  | { kind: 'jointEntropy'; ratio: number };

/**
 * How {@link vrmLoss} evaluates the graphs.
 * - `'auto'` (default): `'gram'` unless an elementwise mask (`uep.kind === 'clip'`) is active.
 * - `'gram'`: exact per-edge losses from Gram matrices, memory `O(N² + C²)`; never builds edges.
 * - `'direct'`: materialises the edge tensors `[N, N, C]` and `[C, C, N]`.
 */
export type VrmPath = 'auto' | 'gram' | 'direct';

/** Default validity threshold on edge norms (spec: `‖·‖ > 1e-8` in teacher and student). */
export const EDGE_EPSILON = 1e-8;

/** Default z-score epsilon (spec: `(z − mean) / (std + 1e-7)`). */
export const ZS_EPSILON = 1e-7;

/** @internal Validates an `isEdges` option. */
export function checkIsEdges(value: unknown, name = 'options.isEdges'): asserts value is IsEdges {
  assertOneOf(value, ['cross', 'upper'] as const, name);
}

/** @internal Validates a `uep` option and returns it normalised. */
export function checkUep(value: unknown, name = 'options.uep'): UepOption {
  if (value === null || typeof value !== 'object') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must be { kind: 'none' } | { kind: 'clip', delta } | { kind: 'jointEntropy', ratio }, got ${String(value)}.`,
      { name, value },
    );
  }
  const v = value as { kind?: unknown; delta?: unknown; ratio?: unknown };
  assertOneOf(v.kind, ['none', 'clip', 'jointEntropy'] as const, `${name}.kind`);
  if (v.kind === 'clip') {
    assertNumber(v.delta, `${name}.delta`, { min: 0, exclusiveMin: true });
    return { kind: 'clip', delta: v.delta };
  }
  if (v.kind === 'jointEntropy') {
    assertNumber(v.ratio, `${name}.ratio`, { min: 0, exclusiveMin: true, max: 1 });
    return { kind: 'jointEntropy', ratio: v.ratio };
  }
  return { kind: 'none' };
}

/** @internal Validates an edge epsilon. */
export function checkEpsilon(value: unknown, name: string): asserts value is number {
  assertNumber(value, name, { min: 0 });
}
