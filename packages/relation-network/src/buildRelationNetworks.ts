import { RelkdError } from '@relkd/core';
import { assertNumber, childSeed } from '@relkd/core/internal';
import { RelationNetwork } from './RelationNetwork';

/** Options of {@link buildRelationNetworks}. */
export interface BuildRelationNetworksOptions {
  /** NHWC shapes `[H, W, C_k]` of the backbone's K stage outputs, shallow -> deepest (K >= 1). */
  stageShapes: readonly (readonly number[])[];
  /** Number of classes of the auxiliary classifiers. */
  numClasses: number;
  /** Seed; network k gets `childSeed(seed, k)`. Default `0`. */
  seed?: number;
  /**
   * Width of the embedding `e` of every network with a trunk (all but the deepest). Default
   * `16·c`, c = stage-1 width `C_1` (CORSD). The deepest network pools its pair as is, so its
   * embedding is `2·C_K` (= 16c in the paper's 4-stage width-doubling setting), unless
   * `deepestProjection`.
   */
  embeddingWidth?: number;
  /**
   * Give the deepest network a 1×1 convolution → BN → ReLU projection from `2·C_K` to
   * `embeddingWidth` before pooling when they differ (ours, not in the paper; the behaviour
   * before issue 15). Default `false`.
   */
  deepestProjection?: boolean;
  /**
   * Hidden widths of the score heads, one per stage. Default `2c` for every network but the
   * deepest and `4c` for the deepest (the released RN1–RN3 and RN4).
   */
  hiddenUnits?: readonly number[];
}

/**
 * Creates CORSD's K relation networks from the backbone's stage shapes, shallow -> deepest.
 * Network k (1-based) takes pairs `[B, H_k, W_k, 2·C_k]`, has `K − k` SepConv blocks and ends in
 * an embedding of width `embeddingWidth` (default `16c`); the deepest network has no blocks and
 * pools its pair as is (embedding `2·C_K`, as in the paper; `deepestProjection: true` restores
 * the 1×1 projection to `embeddingWidth`). See {@link RelationNetwork} for how the pair width
 * maps into the trunk. H and W are not fixed by the networks (they are fully
 * convolutional up to the pooling) and are only validated here.
 *
 * For the paper's ResNet-18 on CIFAR (`stageShapes = [[32,32,64],[16,16,128],[8,8,256],[4,4,512]]`)
 * this builds the released RN1–RN4 (trunk widths 128→256→512→1024, 256→512→1024, 512→1024,
 * none; heads 1024→128→1, 1024→256→1 for the deepest; classifiers 1024→C).
 *
 * @throws RelkdError `INVALID_OPTION` (no stages, bad shapes or widths)
 * @example
 * ```ts
 * const nets = buildRelationNetworks({ stageShapes: [[14, 14, 8], [7, 7, 16]], numClasses: 10, seed: 1 });
 * // nets[0]: 1 SepConv block 16 -> 128; nets[1]: GAP of the 32-wide pair (embedding 32)
 * ```
 */
export function buildRelationNetworks(options: BuildRelationNetworksOptions): RelationNetwork[] {
  if (options == null || typeof options !== 'object') {
    throw new RelkdError(
      'INVALID_OPTION',
      '`options` must be `{ stageShapes, numClasses, seed? }`.',
    );
  }
  const { stageShapes, numClasses, seed = 0, deepestProjection = false } = options;
  if (typeof deepestProjection !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`deepestProjection\` must be a boolean, got ${String(deepestProjection)}.`,
      { name: 'deepestProjection' },
    );
  }
  if (!Array.isArray(stageShapes) || stageShapes.length === 0) {
    throw new RelkdError(
      'INVALID_OPTION',
      '`stageShapes` must list at least one stage shape [H, W, C].',
      {
        name: 'stageShapes',
      },
    );
  }
  stageShapes.forEach((shape, k) => {
    if (!Array.isArray(shape) || shape.length !== 3) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`stageShapes[${k}]\` must be an NHWC stage shape [H, W, C] (no batch axis), got ${JSON.stringify(shape)}.`,
        { name: 'stageShapes', index: k },
      );
    }
    shape.forEach((d, i) => {
      assertNumber(d, `stageShapes[${k}][${i}]`, { min: 1, integer: true });
    });
  });
  assertNumber(numClasses, 'numClasses', { min: 1, integer: true });
  assertNumber(seed, 'seed');
  const K = stageShapes.length;
  const c = stageShapes[0]![2]!;
  const embeddingWidth = options.embeddingWidth ?? 16 * c;
  assertNumber(embeddingWidth, 'embeddingWidth', { min: 1, integer: true });
  const hidden = options.hiddenUnits ?? stageShapes.map((_, k) => (k === K - 1 ? 4 * c : 2 * c));
  if (!Array.isArray(hidden) || hidden.length !== K) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`hiddenUnits\` must give one width per stage (${K}), got ${JSON.stringify(hidden)}.`,
      { name: 'hiddenUnits' },
    );
  }
  const nets: RelationNetwork[] = [];
  try {
    stageShapes.forEach((shape, k) => {
      const deepest = k === K - 1;
      nets.push(
        new RelationNetwork({
          inChannels: 2 * shape[2]!,
          numBlocks: K - 1 - k,
          embeddingWidth: deepest && !deepestProjection ? 2 * shape[2]! : embeddingWidth,
          projection: deepest && deepestProjection,
          hiddenUnits: hidden[k]!,
          numClasses,
          seed: childSeed(seed, k),
          name: `RelationNetwork${k + 1}`,
        }),
      );
    });
  } catch (e) {
    for (const n of nets) n.dispose();
    throw e;
  }
  return nets;
}
