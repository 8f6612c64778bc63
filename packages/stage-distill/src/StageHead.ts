import { Dense, GlobalAveragePool, Module, SepConv } from '@relkd/core';
import { assertNumber, checkModuleInput, childSeed } from '@relkd/core/internal';
import type * as tf from '@tensorflow/tfjs-core';

/** Options of {@link StageHead}. */
export interface StageHeadOptions {
  /** Width `C` of the stage feature map the head reads. */
  inChannels: number;
  /** Number of classes of the logits. */
  numClasses: number;
  /**
   * Number of SepConv blocks; each halves H and W (`ceil(H/2)`) and doubles the channels.
   * {@link buildStageModules} picks it so the head reaches the deepest stage's resolution.
   */
  downsample: number;
  /** Seed of every initialiser in the head. Default `0`. */
  seed?: number;
  name?: string;
}

/**
 * An auxiliary classifier on an intermediate stage (MTKD-SSR's stage head): `downsample` SepConv
 * blocks from core (each: depthwise 3×3 stride 2 pad 1 → 1×1 → BN → ReLU → depthwise 3×3 stride 1
 * → 1×1 → BN → ReLU, doubling channels) → global average pool → Dense(numClasses).
 * NHWC `[B, H, W, inChannels] -> [B, numClasses]` logits; `outChannels = inChannels·2^downsample`
 * is the width fed to the Dense layer.
 *
 * Variables (paths): `block<i>/...` (SepConv), `fc/kernel`, `fc/bias`; BatchNorm running
 * statistics are state. Seeded initialisation; train/inference BatchNorm through
 * `apply(x, { training })`; save/load through core's `Module`.
 *
 * @throws RelkdError `INVALID_OPTION` (bad sizes); at `apply`: `RANK_MISMATCH`, `SHAPE_MISMATCH`
 * @example
 * ```ts
 * const head = new StageHead({ inChannels: 16, numClasses: 10, downsample: 2, seed: 3 });
 * const z1 = head.apply(stage1Features, { training: true }); // [B, 10]
 * ```
 */
export class StageHead extends Module {
  readonly inChannels: number;
  readonly numClasses: number;
  readonly downsample: number;
  /** Channels after the SepConv blocks: `inChannels · 2^downsample`. */
  readonly outChannels: number;
  private readonly blocks: SepConv[];
  private readonly pool: GlobalAveragePool;
  private readonly fc: Dense;

  constructor(options: StageHeadOptions) {
    super(options.name ?? 'StageHead');
    const { inChannels, numClasses, downsample, seed = 0 } = options;
    assertNumber(inChannels, 'inChannels', { min: 1, integer: true });
    assertNumber(numClasses, 'numClasses', { min: 1, integer: true });
    assertNumber(downsample, 'downsample', { min: 0, max: 16, integer: true });
    assertNumber(seed, 'seed', { integer: true });
    this.inChannels = inChannels;
    this.numClasses = numClasses;
    this.downsample = downsample;
    this.blocks = Array.from({ length: downsample }, (_, i) =>
      this.addModule(
        `block${i}`,
        new SepConv({
          inChannels: inChannels * 2 ** i,
          outChannels: inChannels * 2 ** (i + 1),
          stride: 2,
          seed: childSeed(seed, i),
        }),
      ),
    );
    this.outChannels = inChannels * 2 ** downsample;
    this.pool = this.addModule('pool', new GlobalAveragePool());
    this.fc = this.addModule(
      'fc',
      new Dense({
        inUnits: this.outChannels,
        outUnits: numClasses,
        seed: childSeed(seed, downsample),
      }),
    );
  }

  protected forward(x: tf.Tensor, training: boolean): tf.Tensor {
    checkModuleInput(x, 4, this.inChannels, this.name, 'NHWC [B, H, W, C]');
    const h = this.blocks.reduce<tf.Tensor>((acc, b) => b.apply(acc, { training }), x);
    return this.fc.apply(this.pool.apply(h));
  }
}
