/** The whole-step section's arithmetic and report (no timing is asserted). */
import { describe, expect, it } from 'vitest';
import { renderWholeSteps } from './wholeStepReport';
import {
  attachStepTorch,
  kernelSummary,
  type StepTorchResults,
  type WholeStepRow,
} from './wholeSteps';

const row = (
  id: string,
  method: string,
  arch: string,
  ms: number,
  over: number,
  target?: number,
): WholeStepRow => ({
  backend: 'wasm',
  id,
  method,
  arch,
  minMs: ms,
  p10Ms: ms,
  medianMs: 2 * ms,
  p90Ms: 3 * ms,
  steps: 5,
  overCe: { median: over, p10: over, p90: over },
  ...(target === undefined ? {} : { target }),
  params: { student: 100 },
});

describe('kernelSummary', () => {
  const isKernel = (name: string) => ['FusedConv2D', 'Add', 'Relu'].includes(name);

  it('sums by kernel name, largest first, without the scopes that wrap kernels', () => {
    const s = kernelSummary(
      [
        [
          { name: 'fusedConv2d__op', kernelTimeMs: 5 },
          { name: 'FusedConv2D', kernelTimeMs: 4.5 },
          { name: 'Add', kernelTimeMs: 1 },
          { name: 'Add', kernelTimeMs: 2 },
          { name: 'unnamed scope', kernelTimeMs: 3 },
          { name: 'Relu', kernelTimeMs: { error: 'not timed' } },
        ],
      ],
      2,
      isKernel,
    );
    expect(s.kernels).toBe(4);
    expect(s.kernelMs).toBeCloseTo(7.5, 12);
    expect(s.top).toEqual([
      { name: 'FusedConv2D', ms: 4.5, count: 1, share: 0.6 },
      { name: 'Add', ms: 3, count: 2, share: 0.4 },
    ]);
  });

  it('takes the median over profiled steps per kernel name (one descheduled call does not count)', () => {
    const step = (add: number) => [
      { name: 'Add', kernelTimeMs: add },
      { name: 'Relu', kernelTimeMs: 1 },
    ];
    const s = kernelSummary([step(2), step(40), step(3)], 5, isKernel);
    expect(s.top).toEqual([
      { name: 'Add', ms: 3, count: 1, share: 0.75 },
      { name: 'Relu', ms: 1, count: 1, share: 0.25 },
    ]);
    expect(s.kernelMs).toBe(4);
  });
});

describe('attachStepTorch', () => {
  const torch: StepTorchResults = {
    version: '1.13',
    threads: 1,
    results: [
      { method: 'kd', arch: '3stage', minMs: 4, medianMs: 8, overCe: { median: 2.1, ofMin: 2 } },
      { method: 'kd', arch: '2stage', minMs: 2, medianMs: 5 },
    ],
  };

  it('matches method and arch, and gives the ratios of the minima and of the medians', () => {
    const rows = [row('kd', 'kd', '3stage', 6, 1.1, 1.2), row('kd@2stage', 'kd', '2stage', 3, 1.3)];
    attachStepTorch(rows, torch);
    expect(rows[0]!.torch).toEqual({
      minMs: 4,
      medianMs: 8,
      overMin: 1.5,
      overMedian: 1.5,
      overCe: 2.1,
    });
    expect(rows[1]!.torch).toEqual({ minMs: 2, medianMs: 5, overMin: 1.5, overMedian: 1.2 });
  });

  it('clears stale ratios when the peer has no such step (or no file)', () => {
    const rows = [row('vrm', 'vrm', '3stage', 6, 2, 2.2)];
    rows[0]!.torch = { minMs: 1, medianMs: 1, overMin: 6, overMedian: 12 };
    attachStepTorch(rows, torch);
    expect(rows[0]!.torch).toBeUndefined();
    const kd = [row('kd', 'kd', '3stage', 6, 1.1, 1.2)];
    attachStepTorch(kd, null);
    expect(kd[0]!.torch).toBeUndefined();
  });
});

describe('renderWholeSteps', () => {
  it('states each target as met or missed with the measured ratios', () => {
    const md = renderWholeSteps(
      [
        row('ce', 'ce', '3stage', 10, 1),
        row('kd', 'kd', '3stage', 11, 1.1, 1.2),
        row('icc', 'icc', '3stage', 14, 1.4, 1.2),
        row('vrm', 'vrm', '3stage', 20, 2.0, 2.2),
      ],
      [],
      null,
    );
    expect(md).toContain(
      '| wasm: KD, STKD, ICC step ≤ 1.2x the CE step | kd 1.10x, icc 1.40x | **missed** (icc over) |',
    );
    expect(md).toContain(
      '| wasm: VRM step ≤ 2.2x the CE step (virtual view included) | vrm 2.00x | **met** |',
    );
    expect(md).not.toContain('MTKD-SSR and CORSD step');
    expect(md).toContain('no tools/reference/step_torch.json');
  });

  it('says so when nothing was measured', () => {
    expect(renderWholeSteps([], [], null)).toContain('not measured in this run');
  });
});
