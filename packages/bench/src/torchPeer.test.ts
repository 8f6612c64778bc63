/**
 * The PyTorch peer (tools/reference/bench_torch.py) must time the same losses the packages
 * compute: its values on small inputs (fixtures/torch_losses.json, written by
 * `/usr/bin/python3 tools/reference/bench_torch.py --fixture`) must equal the relkd losses with
 * default options on the same inputs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vrmLoss } from '@relkd/affinity-graph';
import { iccStudentLoss } from '@relkd/class-correlation';
import { kdLoss } from '@relkd/core';
import { stkdLoss } from '@relkd/mixup-similarity';
import { corsdLoss } from '@relkd/relation-network';
import {
  channelDistillationLoss,
  crossStageReviewLoss,
  mtkdLoss,
  stageResponseLoss,
} from '@relkd/stage-distill';
import { useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

type Nested = number | Nested[];
type Inputs = Record<string, Nested | Nested[] | Record<string, Nested>>;
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'torch_losses.json'), 'utf8'),
) as { cases: Record<string, { inputs: Inputs; value: number }> };

const f32 = (x: unknown): tf.Tensor => tf.tensor(x as number[], undefined, 'float32');
const i32 = (x: unknown): tf.Tensor1D => tf.tensor1d(x as number[], 'int32');
const list = (x: unknown): tf.Tensor[] => (x as unknown[]).map(f32);
const total = (r: tf.Scalar | { total: tf.Scalar }): tf.Scalar =>
  r instanceof tf.Tensor ? r : r.total;

/** The relkd call of each benchmark case, on the fixture's inputs. */
const RELKD: Record<string, (i: Inputs) => tf.Scalar | { total: tf.Scalar }> = {
  kd: (i) => kdLoss(f32(i.s), f32(i.t)),
  vrm: (i) =>
    vrmLoss({
      student: { real: f32(i.ss), virtual: f32(i.sv) },
      teacher: { real: f32(i.ts), virtual: f32(i.tv) },
    }),
  stkd: (i) => stkdLoss({ student: f32(i.s), teacher: f32(i.t), targets: f32(i.targets) }),
  icc: (i) =>
    // bench_torch.py computes the correlation at τ = 1 (the library default is now τ = T).
    iccStudentLoss(
      { student: f32(i.s), teacher: f32(i.t), labels: i32(i.y) },
      { correlationTemperature: 1 },
    ),
  scd: (i) => channelDistillationLoss(list(i.fs), list(i.ft)),
  srd: (i) => stageResponseLoss(list(i.zs), list(i.zt)),
  crd: (i) => crossStageReviewLoss(list(i.zs)),
  mtkd: (i) =>
    mtkdLoss({
      studentFeatures: list(i.fs),
      teacherFeatures: list(i.ft),
      studentStageLogits: list(i.zs),
      teacherStageLogits: list(i.zt),
      labels: i32(i.y),
    }),
  corsd: (i) =>
    corsdLoss({
      stages: (i.stages as unknown as unknown[][]).map((s) => ({
        positive: { score: f32(s[0]), logits: f32(s[1]) },
        negative: { score: f32(s[2]), logits: f32(s[3]) },
      })),
      anchorLabels: i32(i.ya),
      negativeLabels: i32(i.yn),
    }),
};

describe('the PyTorch peer computes the packages’ losses', () => {
  beforeAll(() => useTestBackend('cpu'));

  it('covers every benchmark case', () => {
    expect(Object.keys(fixture.cases).sort()).toEqual(Object.keys(RELKD).sort());
  });

  it.each(Object.keys(RELKD))('%s: relkd value == bench_torch.py value (rtol 1e-4)', (loss) => {
    const { inputs, value } = fixture.cases[loss]!;
    const actual = tf.tidy(() => total(RELKD[loss]!(inputs)).dataSync()[0]!);
    expect(Number.isFinite(value)).toBe(true);
    expect(Math.abs(actual - value)).toBeLessThanOrEqual(1e-4 * Math.abs(value) + 1e-6);
  });
});
