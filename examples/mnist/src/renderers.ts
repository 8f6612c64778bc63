/**
 * The CLI's renderers: the console header and tables, the Markdown report (spliced into the
 * page), the JSON results and the SVG charts, for the comparison and for `--ablate`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendInfo } from '@relkd/backend';
import { type Arm, armById, type Config, type Family } from './arms';
import { comparisonChart } from './chart';
import type { Request } from './cliArgs';
import { formatJson, spliceSection } from './docOutput';
import {
  correlationSvg,
  type Data,
  getTeacher,
  type Protocol,
  TEACHER_HEAD_IMAGES,
  TEACHER_LR,
} from './jobs';
import type { TeacherReport } from './pool';
import {
  type ArmSummary,
  ablationTable,
  configTable,
  consoleTable,
  mainTable,
  mdTable,
  yardstickTable,
} from './report';
import { GRIDS, type TunedFile } from './tuning';

/** A teacher kind in words. */
export const teacherName = (k: 'plain' | 'icc') => (k === 'plain' ? 'plain CE' : 'ICC regulariser');

/** The first lines on the console: task, mode, backend, models and data. */
export function header(
  req: Request,
  info: {
    name: string;
    threads?: number;
    adapter?: { software: boolean; vendor: string; architecture: string };
  },
  dataName: string,
): void {
  const { p } = req;
  console.log(
    `relkd distillation benchmark · ${p.task} · mode ${p.mode} · backend ${info.name}${info.threads ? ` (${info.threads} thread${info.threads > 1 ? 's' : ''})` : ''}${info.adapter?.software ? ` (SOFTWARE adapter ${info.adapter.vendor} ${info.adapter.architecture}: CPU speed, not a GPU measurement)` : ''} · ${p.arch} models`,
  );
  console.log(
    `data: ${dataName}; students train on ${p.trainSize} images, validation ${p.valSize} (held out), test ${p.testSize}`,
  );
}

/** The report's "Run:" line: the command, the data, the backend and the budget. */
export function runLine(
  p: Protocol,
  info: { name: string; adapter?: { software: boolean; vendor: string; architecture: string } },
  minutes: number,
  dataName: string,
): string {
  return (
    `**Run:** \`${['npm run distill --', p.mode === 'default' ? '' : `--${p.mode}`, p.task === 'ablate' ? '--ablate …' : ''].filter((x) => x !== '').join(' ')}\`` +
    ` · data ${dataName} · backend \`${info.name}\`${info.adapter?.software ? ` on a **software** adapter (${info.adapter.vendor} ${info.adapter.architecture}: CPU speed, not a GPU measurement)` : ''} · ${p.arch} models · ${p.trainSize} training images, ${p.valSize} validation, ${p.testSize} test · ` +
    `${p.epochs} epoch${p.epochs > 1 ? 's' : ''}, ${p.seeds} seed${p.seeds > 1 ? 's' : ''}, batch ${p.batchSize}, Adam ${p.lr} with cosine decay per epoch · ` +
    `${minutes.toFixed(1)} min on ${p.jobs} worker process${p.jobs > 1 ? 'es' : ''}` +
    (p.mode === 'quick' ? ' · **smoke run: tiny budget, the numbers are NOT representative**' : '')
  );
}

/** Everything a report is written from. */
export interface ReportContext {
  req: Request;
  info: BackendInfo;
  data: Data;
  dataName: string;
  arms: readonly Arm[];
  sums: ArmSummary[];
  teachers: TeacherReport[];
  configs: Record<Family, Config>;
  tunedFile: TunedFile | undefined;
  minutes: number;
  studentParams: number;
}

/** An arm's results as JSON. */
export const toJson = (s: ArmSummary) => ({
  arm: s.arm.id,
  label: s.arm.label,
  group: s.arm.group,
  teacher: s.arm.teacher ?? 'none',
  config: s.config,
  test: s.test,
  val: s.val,
  mean: s.mean,
  std: s.std,
  secondsPerEpoch: s.secondsPerEpoch,
  curve: s.curve,
  lastLoss: s.runs.map((r) => r.lastLoss),
});

/** The protocol as JSON (what the results depend on). */
export function protocolJson(p: Protocol, data: Data) {
  return {
    data: {
      name: data.dataset.name,
      hash: data.dataset.hash,
      height: data.dataset.height,
      width: data.dataset.width,
      numClasses: data.dataset.numClasses,
    },
    arch: p.arch,
    trainSize: p.trainSize,
    valSize: p.valSize,
    testSize: p.testSize,
    epochs: p.epochs,
    seeds: p.seeds,
    batchSize: p.batchSize,
    optimizer: `adam(${p.lr}), cosine decay per epoch`,
    teacherTrainSize: data.teacherIdx.length,
    teacherEpochs: p.teacherEpochs,
    teacherOptimizer: `adam(${TEACHER_LR}) × ${p.teacherLrDecay} per epoch`,
    jobs: p.jobs,
  };
}

/** The page's teacher lines (accuracy, size, budget, class correlation, MTKD-SSR heads). */
export function teacherMarkdown(ts: readonly TeacherReport[], p: Protocol, data: Data): string[] {
  const mass = (t: TeacherReport) =>
    Object.entries(t.offDiagonal)
      .map(([tau, v]) => `${v.toFixed(2)} at τ = ${tau}`)
      .join(', ');
  return ts.map(
    (t) =>
      `- Teacher (${t.kind === 'plain' ? 'plain CE' : 'trained with the ICC regulariser'}): **${(100 * t.testAccuracy).toFixed(2)}%** test accuracy, ${t.params} parameters, ${data.teacherIdx.length} training images (no validation image), ${p.teacherEpochs} epoch${p.teacherEpochs > 1 ? 's' : ''}, Adam ${TEACHER_LR} × ${p.teacherLrDecay} per epoch. ` +
      `Off-diagonal share of its class correlation PᵀP on the validation split: ${mass(t)}.` +
      (t.headAccuracy === undefined
        ? ''
        : ` MTKD-SSR teacher stage heads (fitted on ${TEACHER_HEAD_IMAGES} of its training images): training accuracy ${t.headAccuracy.map((a) => `${a.toFixed(1)}%`).join(', ')} (stages 1-${t.headAccuracy.length}).`),
  );
}

/** The page's generated-section stamp. */
function stampOf(p: Protocol): string {
  return `<!-- Generated by \`npm run distill\` (${p.task}, ${p.mode}) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; do not edit between the markers. -->`;
}

/** `--ablate`: a table per method on the console, its JSON, and its section of the page. */
export function writeAblationReport(c: ReportContext): void {
  const { req, info, data, dataName, sums, minutes } = c;
  const { p } = req;
  const mdPath = join(p.out, 'mnist.md');
  const stamp = stampOf(p);
  const blocks: string[] = [];
  const json: Record<string, unknown> = {};
  for (const m of req.ablate) {
    const full = sums.find((s) => s.arm.id === m)!;
    const abl = sums.filter((s) => s.arm.family === m && s.arm.group === 'ablation');
    const t = ablationTable(full, abl);
    console.log(`\n${consoleTable(t.header, t.rows)}`);
    blocks.push(`#### ${full.arm.label}\n\n${mdTable(t.header, t.rows)}`);
    json[m] = [full, ...abl].map(toJson);
  }
  const name = p.mode === 'full' ? 'mnist-full-ablations' : 'mnist-ablations';
  const jsonPath = join(p.out, `${name}.json`);
  const previous = existsSync(jsonPath)
    ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as { methods: Record<string, unknown> })
    : undefined;
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ generatedAt: new Date().toISOString(), mode: p.mode, backend: info.name, protocol: protocolJson(p, data), methods: { ...(previous?.methods ?? {}), ...json } }, null, 2)}\n`,
  );
  formatJson(jsonPath);
  for (const m of req.ablate) {
    const i = req.ablate.indexOf(m);
    spliceSection(
      mdPath,
      `${name}-${m}`,
      `Ablation: ${armById(m).label}`,
      [stamp, '', runLine(p, info, minutes, dataName), '', blocks[i]!, ''].join('\n'),
    );
  }
  console.log(`wrote ${mdPath} and ${jsonPath}`);
}

/** The comparison: console tables, the JSON results, the accuracy chart, the heat-maps, the page. */
export async function writeCompareReport(c: ReportContext): Promise<void> {
  const { req, data, sums, configs, tunedFile, minutes } = c;
  const { p } = req;
  const mdPath = join(p.out, 'mnist.md');
  const stamp = stampOf(p);
  const teacherMd = teacherMarkdown(c.teachers, p, data);
  const main = mainTable(sums, p.seeds);
  const yard = yardstickTable(sums);
  const cfg = configTable(
    configs,
    Object.fromEntries(Object.entries(GRIDS).map(([f, g]) => [f, Object.keys(g[0] ?? {})])),
  );
  console.log(`\n${consoleTable(main.header, main.rows)}`);
  if (yard.rows.length > 0) console.log(`\n${consoleTable(yard.header, yard.rows)}`);
  console.log(`total ${minutes.toFixed(1)} min`);
  const name = p.mode === 'full' ? 'mnist-full' : 'mnist';
  const jsonPath = join(p.out, `${name}.json`);
  writeFileSync(
    jsonPath,
    `${JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        mode: p.mode,
        backend: { name: c.info.name, threads: c.info.threads ?? null, simd: c.info.simd ?? null },
        protocol: protocolJson(p, data),
        teachers: c.teachers.map((t) => ({
          kind: t.kind,
          testAccuracy: 100 * t.testAccuracy,
          params: t.params,
        })),
        studentParams: c.studentParams,
        tuned:
          tunedFile === undefined
            ? null
            : { generatedAt: tunedFile.generatedAt, chosen: tunedFile.chosen },
        results: sums.map(toJson),
        totalSeconds: minutes * 60,
      },
      null,
      2,
    )}\n`,
  );
  formatJson(jsonPath);
  const svgName = `${name}-accuracy.svg`;
  writeFileSync(
    join(p.out, svgName),
    comparisonChart({ protocol: protocolJson(p, data), results: sums.map(toJson) }),
  );
  // ICC: the class correlation of both teachers at the ICC temperature, as heat-maps.
  const heatmapMd: string[] = [];
  if (c.arms.some((a) => a.id === 'icc')) {
    const tau = Number(configs.icc.temperature);
    const files: string[] = [];
    for (const kind of ['plain', 'icc'] as const) {
      const t = await getTeacher(kind, p, data, { evaluate: false, reuse: true });
      const file = `${name}-correlation-${kind}.svg`;
      writeFileSync(
        join(p.out, file),
        await correlationSvg(
          t.net,
          data,
          tau,
          `${kind === 'plain' ? 'plain' : 'ICC-regularised'} teacher, PᵀP at τ = ${tau}`,
        ),
      );
      t.net.model.dispose();
      files.push(`![${kind} teacher's class correlation](${file})`);
    }
    heatmapMd.push(
      `**Class correlation of the teachers** (validation split, τ = ${tau}, the ICC temperature; off-diagonal shares in the teacher lines above):`,
      '',
      files.join(' '),
      '',
    );
  }
  const md = [
    stamp,
    '',
    runLine(p, c.info, minutes, c.dataName),
    '',
    ...teacherMd,
    `- Student: ${c.studentParams} parameters, the same architecture and initialisation per seed for every arm.`,
    '',
    mdTable(main.header, main.rows),
    '',
    '✓ / ✗: the 95% interval of the paired difference (same seeds) excludes 0. A method *beats KD* only with ✓ in the KD column.',
    '',
    ...(yard.rows.length > 0
      ? ['**Each method against its control**', '', mdTable(yard.header, yard.rows), '']
      : []),
    `**Configurations** (${tunedFile === undefined ? 'untuned defaults: no tuned.json' : `tuned by \`--tune\` on ${tunedFile.generatedAt.slice(0, 10)}, see examples/mnist/tuned.json`})`,
    '',
    mdTable(cfg.header, cfg.rows),
    '',
    `![Validation accuracy per epoch](${svgName})`,
    '',
    ...heatmapMd,
  ].join('\n');
  spliceSection(
    mdPath,
    p.mode === 'full' ? 'full-results' : 'results',
    p.mode === 'full' ? 'Results of the full protocol' : `Results (${p.mode})`,
    md,
  );
  console.log(`wrote ${mdPath}, ${name}.json and ${svgName}`);
}
