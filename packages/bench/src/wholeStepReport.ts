import type { KernelProfile, StepTorchResults, WholeStepRow } from './wholeSteps';

const fmt = (x: number): string =>
  x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
const x2 = (r: number): string => `${r.toFixed(2)}x`;
const verdict = (ok: boolean): string => (ok ? '**met**' : '**missed**');

const sumParams = (p: Record<string, number>): string => {
  const { teacher, teacherHeads, student, ...modules } = p;
  const extra = Object.values(modules).reduce((a, n) => a + n, 0);
  const frozen = (teacher ?? 0) + (teacherHeads ?? 0);
  return `${student ?? 0}${extra ? ` + ${extra}` : ''}${frozen ? ` (frozen ${frozen})` : ''}`;
};

/** The issue #19 target lines measured by the whole steps of `backend`. */
function targetLines(rows: readonly WholeStepRow[]): string[] {
  const out: string[] = [];
  for (const [label, ids] of [
    ['KD, STKD, ICC step ≤ 1.2x the CE step', ['kd', 'stkd', 'icc']],
    ['MTKD-SSR and CORSD step ≤ 1.5x the CE step', ['mtkd', 'corsd']],
    ['VRM step ≤ 2.2x the CE step (virtual view included)', ['vrm']],
  ] as const) {
    const rs = rows.filter((r) => (ids as readonly string[]).includes(r.id));
    if (rs.length === 0) continue;
    out.push(
      `| ${label} | ${rs.map((r) => `${r.id} ${x2(r.overCe.median)}`).join(', ')} | ${verdict(rs.every((r) => r.overCe.median <= r.target!))}${
        rs.some((r) => r.overCe.median > r.target!)
          ? ` (${rs
              .filter((r) => r.overCe.median > r.target!)
              .map((r) => r.id)
              .join(', ')} over)`
          : ''
      } |`,
    );
  }
  const peer = rows.filter((r) => (r.method === 'ce' || r.method === 'kd') && r.torch);
  if (peer.length) {
    out.push(
      `| CE and KD step no slower than PyTorch CPU at equal threads (tfjs/torch, min and median) | ${peer.map((r) => `${r.id} ${x2(r.torch!.overMin)} / ${x2(r.torch!.overMedian)}`).join(', ')} | ${verdict(peer.every((r) => r.torch!.overMin <= 1 && r.torch!.overMedian <= 1))} |`,
    );
  }
  return out;
}

/** One kernel profile as a Markdown paragraph and table. */
function profileTable(p: KernelProfile): string {
  const outside = p.wallMs > 0 ? Math.max(0, 1 - p.kernelMs / p.wallMs) : 0;
  return [
    `**${p.id}** (${p.backend}): ${p.runs === 1 ? 'one profiled step' : `median of ${p.runs} profiled steps`}: ${fmt(p.wallMs)} ms wall, ${fmt(p.kernelMs)} ms in ${p.kernels} kernel calls (${(100 * outside).toFixed(0)}% of the wall time outside kernels: JavaScript, dispatch, tape).`,
    '',
    '| kernel | ms | calls | share of kernel time |',
    '| --- | --- | --- | --- |',
    ...p.top.map(
      (k) => `| ${k.name} | ${fmt(k.ms)} | ${k.count} | ${(100 * k.share).toFixed(1)}% |`,
    ),
  ].join('\n');
}

/**
 * The "Whole training steps" section of performance.md: targets of issue #19, the per-method
 * table (with the PyTorch peer's ratios when tools/reference/step_torch.json is present) and the
 * per-kernel profiles.
 */
export function renderWholeSteps(
  rows: readonly WholeStepRow[],
  profiles: readonly KernelProfile[],
  torch: StepTorchResults | null,
): string {
  if (rows.length === 0) return '## Whole training steps (issue #19)\n\nnot measured in this run\n';
  const backends = [...new Set(rows.map((r) => r.backend))];
  const withTorch = rows.some((r) => r.torch !== undefined);
  const torchLine = torch
    ? `PyTorch peer: \`/usr/bin/python3 tools/reference/step_torch.py\`, torch ${torch.version}, ${torch.threads} thread(s)${
        torch.blas
          ? `, ${Object.entries(torch.blas)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`
          : ''
      }${torch.date ? `, run ${torch.date}` : ''}${torch.loadavg ? ` (load average ${torch.loadavg.join(' / ')})` : ''}; its steps are checked against these (same weights, same losses over two steps) by \`packages/bench/src/stepPeer.test.ts\`. The peer is bimodal on a loaded machine: compare minimum with minimum and median with median.`
    : 'PyTorch peer: no tools/reference/step_torch.json (run `/usr/bin/python3 tools/reference/step_torch.py`).';
  const head = [
    'backend',
    'step',
    'median ms (p10–p90)',
    'min ms',
    '× CE step, median (p10–p90)',
    'target',
    ...(withTorch
      ? ['PyTorch min / median ms', 'PyTorch × its CE step', 'tfjs/torch min, median']
      : []),
    'trainable params (student + modules)',
  ];
  const table = [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (r) =>
        `| ${[
          r.backend,
          r.id,
          `${fmt(r.medianMs)} (${fmt(r.p10Ms)}–${fmt(r.p90Ms)})`,
          fmt(r.minMs),
          `${r.overCe.median.toFixed(2)} (${r.overCe.p10.toFixed(2)}–${r.overCe.p90.toFixed(2)})`,
          r.target === undefined
            ? '—'
            : `≤ ${r.target} ${r.overCe.median <= r.target ? '(met)' : '(**missed**)'}`,
          ...(withTorch
            ? r.torch
              ? [
                  `${fmt(r.torch.minMs)} / ${fmt(r.torch.medianMs)}`,
                  r.torch.overCe === undefined ? '—' : r.torch.overCe.toFixed(2),
                  `${x2(r.torch.overMin)}, ${x2(r.torch.overMedian)}`,
                ]
              : ['—', '—', '—']
            : []),
          sumParams(r.params),
        ].join(' | ')} |`,
    ),
  ].join('\n');
  const targets = backends.flatMap((b) =>
    targetLines(rows.filter((r) => r.backend === b)).map((l) => l.replace('| ', `| ${b}: `)),
  );
  return `## Whole training steps (issue #19)

What a user waits for: \`Distiller.step\` of each method — batch transform (VRM's virtual view,
STKD's mixup, CORSD's triplets), teacher forward (inference mode), student forward and backward,
the method's trainable modules (MTKD-SSR's adapters and stage heads, CORSD's relation networks),
the Adam update and the one read-back of the loss parts. Each step is built exactly as the MNIST
benchmark builds it (\`packages/bench/src/wholeStepSetup.ts\`: examples/mnist's models, arms and
tuned configurations from examples/mnist/tuned.json, \`FusedAdamOptimizer(0.005)\`: \`tf.train.adam\`'s
updates in one kernel per variable): the 3-stage student
and teacher, plus CE and KD on the 2-stage pair (\`@2stage\`). One fixed batch of 64 MNIST-sized
images, ${rows[0]!.steps} timed rounds after warm-up, one step of every method per round with the order
rotating each round; the ratio over CE is the median of the per-round ratios. MTKD-SSR's teacher
stage heads are not fitted (initial weights; fitting changes no step's cost). "PyTorch × its CE
step" is the peer's own ratio, with the same teacher forward inside the step (the 3-stage teacher
has 7x the student's parameters): read the 1.2x and 1.5x targets against it, since a CE step
made faster raises every ratio over it.

- ${torchLine}

| target | measured | |
| --- | --- | --- |
${targets.join('\n')}

${table}

### Where a step's time goes (\`tf.profile\`, top kernels)

${profiles.length ? profiles.map(profileTable).join('\n\n') : 'no profile in this run'}
`;
}
