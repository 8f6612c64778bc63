import {
  type ApplyOptions,
  BatchNorm,
  Conv2D,
  Dense,
  globalAveragePool,
  Module,
  ReLU,
  RelkdError,
  SepConv,
  Sequential,
} from '@relkd/core';
import { assertNumber, assertRank, childSeed, formatShape } from '@relkd/core/internal';
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
   * Must be divisible by `2^(numBlocks − 1)`: the trunk widths double each block up to it. With
   * `numBlocks = 0` it must equal `inChannels` (the pair is pooled as is, as in the paper) unless
   * `projection` is `true`.
   */
  embeddingWidth: number;
  /**
   * Only for `numBlocks = 0` (the deepest network) with `inChannels ≠ embeddingWidth`: project
   * the pair with a 1×1 convolution (no bias) → BatchNorm → ReLU to `embeddingWidth` before
   * pooling. Ours, not in the paper; the default before issue 15. Default `false`.
   */
  projection?: boolean;
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

/** Options of {@link RelationNetwork.applyPairs} (and of `relationStages`). */
export interface ApplyPairsOptions extends ApplyOptions {
  /**
   * Run the positive and the negative pairs as one batch of 2B pairs, so in training mode the
   * BatchNorm layers normalise both kinds with shared batch statistics (ours). Default `false`:
   * two calls with separate statistics, as in the released code. With separate statistics the
   * BatchNorm of the score head gives the positive and the negative batch the same mean hidden
   * activation, which limits how far the mean scores `s⁺` and `s⁻` can separate.
   */
  jointBatch?: boolean;
}

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
 * trunk: its pair is pooled as is, so its `embeddingWidth` is the pair width `2·C_K` (the
 * paper's architecture). The option `projection: true` instead maps a pair width that differs
 * from `embeddingWidth` with a 1×1 convolution (no bias) → BatchNorm → ReLU first (ours; the
 * behaviour before issue 15). Then global average pooling gives `e [B, e]`.
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
    const {
      inChannels,
      numBlocks,
      embeddingWidth,
      hiddenUnits,
      numClasses,
      seed = 0,
      projection = false,
    } = options;
    assertNumber(inChannels, 'inChannels', { min: 1, integer: true });
    assertNumber(numBlocks, 'numBlocks', { min: 0, integer: true });
    assertNumber(embeddingWidth, 'embeddingWidth', { min: 1, integer: true });
    assertNumber(hiddenUnits, 'hiddenUnits', { min: 1, integer: true });
    assertNumber(numClasses, 'numClasses', { min: 1, integer: true });
    assertNumber(seed, 'seed');
    if (typeof projection !== 'boolean') {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`projection\` must be a boolean, got ${String(projection)}.`,
      );
    }
    if (numBlocks === 0 && !projection && inChannels !== embeddingWidth) {
      throw new RelkdError(
        'INVALID_OPTION',
        `A relation network without trunk blocks pools its pair as is: \`embeddingWidth\` (${embeddingWidth}) must equal \`inChannels\` (${inChannels}), or pass \`projection: true\` for a 1×1 projection.`,
        { embeddingWidth, inChannels },
      );
    }
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
   * Runs the network on the positive and on the negative pairs of a stage: two separate calls
   * by default, so in training mode each gets its own BatchNorm batch statistics (as in the
   * released code); with `jointBatch: true` one call on the 2B pairs (shared statistics).
   */
  applyPairs(pairs: FeaturePairs, options: ApplyPairsOptions = {}): RelationPairOutput {
    const { jointBatch = false, ...applyOptions } = options;
    if (typeof jointBatch !== 'boolean') {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`jointBatch\` must be a boolean, got ${String(jointBatch)}.`,
      );
    }
    if (jointBatch) {
      const x = tf.concat([pairs.positive, pairs.negative]);
      try {
        return this.applyJointPairs(x, applyOptions);
      } finally {
        x.dispose();
      }
    }
    const positive = this.apply(pairs.positive, applyOptions);
    try {
      return { positive, negative: this.apply(pairs.negative, applyOptions) };
    } catch (e) {
      tf.dispose(positive);
      throw e;
    }
  }

  /**
   * Runs the network once on a joint pair batch `[2B, H, W, 2C]` (the B positive pairs, then
   * the B negative pairs: `applyPairs` with `jointBatch: true` on its concatenation) and splits
   * the outputs into the positive and the negative halves. `relationStages` feeds it the joint
   * batch built in one step (`gatherJointPairs`). The caller keeps `x`.
   */
  applyJointPairs(x: tf.Tensor4D, options: ApplyOptions = {}): RelationPairOutput {
    if (!(x instanceof tf.Tensor) || x.rank !== 4 || x.shape[0] % 2 !== 0) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `${this.name}.applyJointPairs expects NHWC [2B, H, W, ${this.inChannels}] (positive pairs, then negative pairs), got ${x instanceof tf.Tensor ? formatShape(x.shape) : String(x)}.`,
      );
    }
    const b = x.shape[0] / 2;
    const both = this.apply(x, options);
    return tf.tidy(() => {
      const [sp, sn] = tf.split(both.score, [b, b]) as tf.Tensor2D[];
      const [lp, ln] = tf.split(both.logits, [b, b]) as tf.Tensor2D[];
      tf.dispose(both);
      return { positive: { score: sp!, logits: lp! }, negative: { score: sn!, logits: ln! } };
    });
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
