import {
  type ApplyOptions,
  assertNumber,
  assertRank,
  BatchNorm,
  Conv2D,
  childSeed,
  Dense,
  formatShape,
  globalAveragePool,
  Module,
  ReLU,
  RelkdError,
  SepConv,
  Sequential,
} from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import type { FeaturePairs } from './gatherPairs';

/** Options of {@link RelationNetwork}. */
export interface RelationNetworkOptions {
  /** Channels of the pair input, `2·C_k` (anchor and other image concatenated). */
  inChannels: number;
  /** Number of SepConv blocks of the trunk, `K − k` for stage k of K (0 for the deepest). */
  numBlocks: number;
  /**
   * Width of the embedding `e` after global average pooling (`16c` in CORSD, c = stage-1 width).
   * Must be divisible by `2^(numBlocks − 1)`: the trunk widths double each block up to it.
   */
  embeddingWidth: number;
  /** Hidden width `h` of the score head (`2c`, `4c` for the deepest network in CORSD). */
  hiddenUnits: number;
  /** Classes of the auxiliary classifier. */
  numClasses: number;
  /** Seed of every initialiser. Default `0`. */
  seed?: number;
  name?: string;
}

/** What a relation network returns for a batch of pairs. */
export type RelationOutput = {
  /** `[B, 1]` relation score in (0, 1), a learned dissimilarity (low for same-class pairs). */
  score: tf.Tensor2D;
  /** `[B, C]` logits of the auxiliary classifier. */
  logits: tf.Tensor2D;
};

/** The outputs for the positive and the negative pairs of one stage (a {@link corsdLoss} stage). */
export type RelationPairOutput = {
  positive: RelationOutput;
  negative: RelationOutput;
};

/**
 * CORSD's relation network of one backbone stage k (a core `Module`; NHWC throughout).
 *
 * Input: a pair `[B, H, W, 2·C_k]` (anchor channels first, then the other image's; see
 * {@link gatherPairs}). Trunk: `numBlocks = K − k` of core's `SepConv` blocks (stride 2 each);
 * block j (1-based) outputs `embeddingWidth / 2^(numBlocks − j)` channels, so widths double each
 * block and the last one outputs `e = embeddingWidth`; the first block maps the pair width
 * `2·C_k` to `e / 2^(numBlocks − 1)`. For a backbone whose widths double per stage
 * (`C_k = 2^(k−1)·c`, the CORSD ResNets) this is exactly the released architecture:
 * `2^k·c -> 2^(k+1)·c -> … -> 16c` for K = 4. The deepest network (`numBlocks = 0`) has no
 * trunk; if its pair width `2·C_K` differs from `embeddingWidth` (a backbone that does not double
 * its widths, or K ≠ 4) a 1×1 convolution (no bias) → BatchNorm → ReLU projects it first (ours;
 * absent when `2·C_K = e` as in the paper's setting). Then global average pooling gives `e [B, e]`.
 *
 * Heads: score `s = sigmoid(Dense(1)(ReLU(BN(Dense(h)(e)))))`, auxiliary classifier
 * `u = Dense(C)(e)`. Output `{ score [B, 1], logits [B, C] }`.
 *
 * Training mode (`apply(x, { training: true })`) normalises with batch statistics and updates
 * the BatchNorm running statistics; inference mode uses the running statistics.
 *
 * @example
 * ```ts
 * const rn = new RelationNetwork({ inChannels: 32, numBlocks: 2, embeddingWidth: 128,
 *                                  hiddenUnits: 16, numClasses: 10, seed: 1 });
 * const { score, logits } = rn.apply(pairs.positive, { training: true }); // [B, 1], [B, 10]
 * ```
 */
export class RelationNetwork extends Module<tf.Tensor, RelationOutput> {
  readonly inChannels: number;
  readonly numBlocks: number;
  readonly embeddingWidth: number;
  readonly hiddenUnits: number;
  readonly numClasses: number;
  /** Output widths of the trunk blocks (empty for the deepest network). */
  readonly blockWidths: readonly number[];
  private readonly trunk: Sequential;
  private readonly scoreHead: Sequential;
  private readonly classifier: Dense;

  constructor(options: RelationNetworkOptions) {
    super(options.name ?? 'RelationNetwork');
    const { inChannels, numBlocks, embeddingWidth, hiddenUnits, numClasses, seed = 0 } = options;
    assertNumber(inChannels, 'inChannels', { min: 1, integer: true });
    assertNumber(numBlocks, 'numBlocks', { min: 0, integer: true });
    assertNumber(embeddingWidth, 'embeddingWidth', { min: 1, integer: true });
    assertNumber(hiddenUnits, 'hiddenUnits', { min: 1, integer: true });
    assertNumber(numClasses, 'numClasses', { min: 1, integer: true });
    assertNumber(seed, 'seed');
    if (numBlocks > 0 && embeddingWidth % 2 ** (numBlocks - 1) !== 0) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`embeddingWidth\` (${embeddingWidth}) must be divisible by 2^(numBlocks − 1) = ${2 ** (numBlocks - 1)}: the trunk widths double each block up to it.`,
        { embeddingWidth, numBlocks },
      );
    }
    this.inChannels = inChannels;
    this.numBlocks = numBlocks;
    this.embeddingWidth = embeddingWidth;
    this.hiddenUnits = hiddenUnits;
    this.numClasses = numClasses;
    const widths = Array.from(
      { length: numBlocks },
      (_, j) => embeddingWidth / 2 ** (numBlocks - 1 - j),
    );
    this.blockWidths = widths;
    const layers: Module[] = [];
    if (numBlocks === 0) {
      if (inChannels !== embeddingWidth) {
        layers.push(
          new Conv2D({
            inChannels,
            outChannels: embeddingWidth,
            kernelSize: 1,
            useBias: false,
            seed: childSeed(seed, 0),
          }),
          new BatchNorm({ channels: embeddingWidth }),
          new ReLU(),
        );
      }
    } else {
      widths.forEach((out, j) => {
        const inC = j === 0 ? inChannels : widths[j - 1]!;
        layers.push(new SepConv({ inChannels: inC, outChannels: out, seed: childSeed(seed, j) }));
      });
    }
    this.trunk = this.addModule('trunk', new Sequential(layers));
    this.scoreHead = this.addModule(
      'score',
      new Sequential([
        new Dense({ inUnits: embeddingWidth, outUnits: hiddenUnits, seed: childSeed(seed, 100) }),
        new BatchNorm({ channels: hiddenUnits }),
        new ReLU(),
        new Dense({ inUnits: hiddenUnits, outUnits: 1, seed: childSeed(seed, 101) }),
      ]),
    );
    this.classifier = this.addModule(
      'classifier',
      new Dense({ inUnits: embeddingWidth, outUnits: numClasses, seed: childSeed(seed, 102) }),
    );
  }

  /**
   * Runs the network on the positive and on the negative pairs of a stage (two separate calls,
   * so in training mode each gets its own BatchNorm batch statistics, as in the released code).
   */
  applyPairs(pairs: FeaturePairs, options: ApplyOptions = {}): RelationPairOutput {
    const positive = this.apply(pairs.positive, options);
    try {
      return { positive, negative: this.apply(pairs.negative, options) };
    } catch (e) {
      tf.dispose(positive);
      throw e;
    }
  }

  protected forward(x: tf.Tensor, training: boolean): RelationOutput {
    if (!(x instanceof tf.Tensor) || x.isDisposed) {
      throw new RelkdError(
        'INVALID_OPTION',
        `${this.name} input must be a live tf.Tensor (NHWC pairs).`,
      );
    }
    assertRank(x, 4, `${this.name} input`, 'NHWC [B, H, W, 2·C_k]');
    if (x.shape[3] !== this.inChannels || x.shape[0] === 0) {
      throw new RelkdError(
        x.shape[0] === 0 ? 'EMPTY_BATCH' : 'SHAPE_MISMATCH',
        `${this.name} expects pairs NHWC [B >= 1, H, W, ${this.inChannels}], got ${formatShape(x.shape)}.`,
        { expected: this.inChannels, actual: x.shape },
      );
    }
    if (x.dtype !== 'float32') {
      throw new RelkdError('DTYPE_MISMATCH', `${this.name} input must be float32, got ${x.dtype}.`);
    }
    const h = this.trunk.apply(x, { training });
    const e = globalAveragePool(h as tf.Tensor4D);
    const score = tf.sigmoid(this.scoreHead.apply(e, { training })) as tf.Tensor2D;
    const logits = this.classifier.apply(e, { training }) as tf.Tensor2D;
    return { score, logits };
  }
}
