/**
 * Docs are code: every ```ts / ```typescript block in README.md, docs/**\/*.md and
 * packages/*\/README.md is extracted, typechecked and run (tools/docs/codeBlocks.test.ts; CLI:
 * `npm run check:docs`).
 *
 * Conventions (also in docs/contributing.md):
 *
 * - A block runs as an ES module of its own (top-level `await` works), in its own `node` process
 *   (type-stripped by TypeScript here first: a TS loader such as tsx would cost ~0.5 s of CPU in
 *   every process), in a fresh empty working directory, with a timeout, several in parallel.
 *   Imports resolve as in a user's project: `@relkd/*` are the built packages (`npm run build`
 *   first; `npm test` does it).
 * - Before the block, a hidden prelude (tools/docs/prelude.ts) selects the backend
 *   (`useBackend('auto')`) and declares tiny `teacher`, `student` (tfjs-layers models ending in
 *   logits), `x`, `y`, `xTest`, `yTest` and `batches`. A block may shadow any of them.
 * - The fence's info string takes flags after the language:
 *   - `standalone`: no prelude; the block must be complete (the README's first sample). It is
 *     typechecked in the shared program, which sees the prelude's global declarations, so a
 *     name it forgot to define shows up when it runs.
 *   - `continues`: the block continues the previous checked block of the same file; the two
 *     typecheck and run as one program (the previous one does not run alone).
 *   - `norun`: typechecked only: code for a bundler or a browser (`?url` imports, a page).
 *   - `nocheck`: neither typechecked nor run (a type listing). Counted and reported; keep rare.
 * - Typechecking uses tsconfig.base.json (strict, noUncheckedIndexedAccess,
 *   exactOptionalPropertyTypes, ...) except the unused-name checks (a sample may destructure
 *   parts it does not use), with `vite/client` types for `?url` imports; one program for all.
 * - A failure names the Markdown file and line (type errors and stack frames are mapped back).
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PRELUDE = join(ROOT, 'tools/docs/prelude.ts');
const FLAGS = ['standalone', 'continues', 'norun', 'nocheck'] as const;
export type Flag = (typeof FLAGS)[number];

/** One fenced ```ts block of a Markdown file. */
export interface Block {
  /** Markdown file, relative to the root (forward slashes). */
  file: string;
  /** 1-based line of the opening fence. */
  fenceLine: number;
  /** The code, with the fence's indentation removed. */
  code: string;
  /** Indentation removed from each line (added back to columns in messages). */
  indent: number;
  flags: Flag[];
}

/** What typechecks and runs as one program: a block and the blocks that continue it. */
export interface Unit {
  /** `file:line` of the first block's fence. */
  name: string;
  blocks: Block[];
  standalone: boolean;
  run: boolean;
}

export interface Problem {
  /** `file:line:column` in the Markdown, or `file:line` of the fence when not mappable. */
  where: string;
  message: string;
}

export interface UnitResult {
  unit: Unit;
  problems: Problem[];
  /** Run time in ms (undefined: not run). */
  ms?: number;
}

/** The Markdown files whose ts blocks are checked, relative to `root`, sorted. */
export function docFiles(root = ROOT): string[] {
  const files: string[] = [];
  if (existsSync(join(root, 'README.md'))) files.push('README.md');
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory() && rel !== 'docs/api') walk(rel);
      else if (e.isFile() && e.name.endsWith('.md')) files.push(rel);
    }
  };
  if (existsSync(join(root, 'docs'))) walk('docs');
  if (existsSync(join(root, 'packages'))) {
    for (const p of readdirSync(join(root, 'packages')).sort()) {
      if (existsSync(join(root, 'packages', p, 'README.md'))) files.push(`packages/${p}/README.md`);
    }
  }
  return files.sort();
}

const OPEN = /^( {0,3}|\s*)(`{3,}|~{3,})\s*([^\s`]*)([^`]*)$/;

/** The ```ts / ```typescript blocks of one Markdown text. Unknown flags throw. */
export function extractBlocks(file: string, text: string): Block[] {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i]!);
    if (open === null) continue;
    const [, indentStr = '', fence = '', lang = '', rest = ''] = open;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end]!)) end++;
    if (/^(ts|typescript)$/i.test(lang)) {
      const words = rest.trim().split(/\s+/).filter(Boolean);
      const unknown = words.filter((w) => !(FLAGS as readonly string[]).includes(w));
      if (unknown.length > 0)
        throw new Error(
          `${file}:${i + 1}: unknown code block flag(s) ${unknown.join(', ')} (known: ${FLAGS.join(', ')})`,
        );
      const indent = indentStr.length;
      const code = lines
        .slice(i + 1, end)
        .map((l) => (l.slice(0, indent).trim() === '' ? l.slice(indent) : l))
        .join('\n');
      blocks.push({ file, fenceLine: i + 1, code, indent, flags: words as Flag[] });
    }
    i = end;
  }
  return blocks;
}

/** Groups blocks into units (`continues` joins the previous unit of the same file). */
export function toUnits(blocks: readonly Block[]): { units: Unit[]; skipped: Block[] } {
  const units: Unit[] = [];
  const skipped: Block[] = [];
  let last: Unit | undefined;
  for (const b of blocks) {
    const where = `${b.file}:${b.fenceLine}`;
    if (b.flags.includes('nocheck')) {
      if (b.flags.length > 1) throw new Error(`${where}: 'nocheck' takes no other flag`);
      skipped.push(b);
      continue;
    }
    if (b.flags.includes('continues')) {
      if (last === undefined || last.blocks[0]!.file !== b.file)
        throw new Error(
          `${where}: 'continues' needs a checked ts block before it in the same file`,
        );
      if (b.flags.length > 1)
        throw new Error(`${where}: 'continues' takes no other flag (the first block's apply)`);
      last.blocks.push(b);
      continue;
    }
    last = {
      name: where,
      blocks: [b],
      standalone: b.flags.includes('standalone'),
      run: !b.flags.includes('norun'),
    };
    units.push(last);
  }
  return { units, skipped };
}

/** Every block of the checked files. */
export function collect(root = ROOT): { blocks: Block[]; units: Unit[]; skipped: Block[] } {
  const blocks = docFiles(root).flatMap((f) =>
    extractBlocks(f, readFileSync(join(root, f), 'utf8')),
  );
  return { blocks, ...toUnits(blocks) };
}

/** A unit written to disk, with the map from its lines back to the Markdown. */
interface Written {
  unit: Unit;
  /** The TypeScript file (typechecked; stack frames name it). */
  path: string;
  /** The same, transpiled to JavaScript with an inline source map (run). */
  js: string;
  /** Generated line (1-based) where each block's code starts. */
  starts: number[];
}

function fileName(unit: Unit): string {
  return unit.name.replace(/[^A-Za-z0-9]+/g, '_');
}

/** Type-strips one file for Node (no typecheck: that is one program for all, below). */
function transpile(code: string, fileName: string): string {
  return ts.transpileModule(code, {
    fileName,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      inlineSourceMap: true,
      inlineSources: false,
    },
  }).outputText;
}

function write(units: readonly Unit[], dir: string): Written[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let prelude = relative(dir, PRELUDE).split(sep).join('/').replace(/\.ts$/, '');
  if (!prelude.startsWith('.')) prelude = `./${prelude}`;
  // Running: the prelude transpiled once, next to the blocks (plain `node`, no loader: a
  // TypeScript loader would cost ~0.5 s of CPU in each of the processes).
  writeFileSync(join(dir, 'prelude.mjs'), transpile(readFileSync(PRELUDE, 'utf8'), PRELUDE));
  return units.map((unit) => {
    const path = join(dir, `${fileName(unit)}.ts`);
    // One header line, so block lines map back with a fixed offset; `export {}` makes a
    // standalone block a module too (top-level await, no shared global scope).
    const header = unit.standalone ? 'export {};' : `import '${prelude}';`;
    const body: string[] = [];
    const starts: number[] = [];
    for (const b of unit.blocks) {
      starts.push(body.length + 2);
      body.push(...b.code.split('\n'));
    }
    const code = `${body.join('\n')}\n`;
    writeFileSync(path, `${header}\n${code}`);
    const js = join(dir, `${fileName(unit)}.mjs`);
    const runHeader = unit.standalone ? 'export {};' : `import './prelude.mjs';`;
    writeFileSync(js, transpile(`${runHeader}\n${code}`, path));
    return { unit, path, js, starts };
  });
}

/** Maps a generated line/column (1-based) to `file:line:col` in the Markdown. */
function mdWhere(w: Written, line: number, col?: number): string {
  let i = w.starts.length - 1;
  while (i > 0 && w.starts[i]! > line) i--;
  const b = w.unit.blocks[i]!;
  if (line < w.starts[i]!) return `${b.file}:${b.fenceLine}`;
  const mdLine = b.fenceLine + 1 + (line - w.starts[i]!);
  return col === undefined ? `${b.file}:${mdLine}` : `${b.file}:${mdLine}:${col + b.indent}`;
}

function compilerOptions(root: string): ts.CompilerOptions {
  const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), ts.sys.readFile);
  if (base.error) throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, root);
  return {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    // Samples may name parts they do not use (`const { total, is, ic } = ...`).
    noUnusedLocals: false,
    noUnusedParameters: false,
    types: ['node', 'vite/client'],
  };
}

/** Typechecks all written units in one program; problems by unit name. */
function typecheck(written: readonly Written[], root: string): Map<string, Problem[]> {
  const byPath = new Map(written.map((w) => [resolve(w.path), w]));
  const program = ts.createProgram(
    written.map((w) => w.path),
    compilerOptions(root),
  );
  const out = new Map<string, Problem[]>(written.map((w) => [w.unit.name, []]));
  const preludeProblems: Problem[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const file = d.file === undefined ? undefined : resolve(d.file.fileName);
    const w = file === undefined ? undefined : byPath.get(file);
    if (w !== undefined && d.file !== undefined && d.start !== undefined) {
      const pos = d.file.getLineAndCharacterOfPosition(d.start);
      out.get(w.unit.name)!.push({
        where: mdWhere(w, pos.line + 1, pos.character + 1),
        message: `TS${d.code}: ${message}`,
      });
    } else {
      const where =
        d.file !== undefined && d.start !== undefined
          ? `${relative(root, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}`
          : '(program)';
      preludeProblems.push({ where, message: `TS${d.code}: ${message}` });
    }
  }
  // Errors outside the blocks (the prelude, a broken build) concern every unit.
  if (preludeProblems.length > 0) for (const p of out.values()) p.push(...preludeProblems);
  return out;
}

/** Runs one written unit with node in its own working directory. */
function runOne(w: Written, timeoutMs: number): Promise<{ problems: Problem[]; ms: number }> {
  const cwd = `${w.path.slice(0, -3)}.cwd`;
  mkdirSync(cwd, { recursive: true });
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--enable-source-maps', w.js], {
      cwd,
      env: { ...process.env, NODE_ENV: 'test', FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (code === 0 && !timedOut) return done({ problems: [], ms });
      // Point stack frames of the generated file at the Markdown lines.
      const esc = w.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const frame = new RegExp(`(?:file://)?${esc}:(\\d+):(\\d+)`, 'g');
      let first: string | undefined;
      const mapped = output.replace(frame, (_, l: string, c: string) => {
        const where = mdWhere(w, Number(l), Number(c));
        first ??= where;
        return where;
      });
      // Minified sources (the WASM backend's glue) print a whole line with a stack: drop it.
      const tail = mapped
        .trim()
        .split('\n')
        .filter((l) => l.length <= 400 && !/^\s*…?$/.test(l))
        .slice(-40)
        .join('\n');
      const why = timedOut
        ? `timed out after ${Math.round(timeoutMs / 1000)} s`
        : `exited with ${signal ?? `code ${code}`}`;
      done({ problems: [{ where: first ?? w.unit.name, message: `${why}\n${tail}` }], ms });
    });
  });
}

async function pool<T, R>(
  items: readonly T[],
  jobs: number,
  f: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

export interface CheckOptions {
  root?: string;
  /** Where the generated files go. Default `<root>/.cache/docs-blocks` (emptied first). */
  outDir?: string;
  /** Parallel processes. Default: available cores, at most 4 (`RELKD_DOCS_JOBS`). */
  jobs?: number;
  /** Per-unit timeout. Default 60 s (`RELKD_DOCS_TIMEOUT_S`). */
  timeoutMs?: number;
}

/** The entry file `@relkd/<name>` resolves to from `root` (the built package), if any. */
function builtEntry(root: string, name: string): string | undefined {
  try {
    return createRequire(join(root, 'package.json')).resolve(`@relkd/${name}`);
  } catch {
    return undefined;
  }
}

/** The published packages (those with a tsup build). */
function published(root: string): string[] {
  return readdirSync(join(root, 'packages'))
    .filter((p) => existsSync(join(root, 'packages', p, 'tsup.config.ts')))
    .sort();
}

/** Throws with a clear message when the built packages the blocks import are missing. */
export function assertBuilt(root = ROOT): void {
  const missing = published(root).filter((p) => builtEntry(root, p) === undefined);
  if (missing.length > 0)
    throw new Error(
      `The docs check imports the built packages; @relkd/${missing.join(', @relkd/')} did not resolve: run \`npm run build\` first.`,
    );
}

/** Typechecks and runs `units`; one result per unit, in order. */
export async function check(
  units: readonly Unit[],
  options: CheckOptions = {},
): Promise<UnitResult[]> {
  const root = options.root ?? ROOT;
  const outDir = options.outDir ?? join(root, '.cache/docs-blocks');
  const jobs =
    options.jobs ?? Number(process.env.RELKD_DOCS_JOBS ?? Math.min(4, availableParallelism()));
  const timeoutMs = options.timeoutMs ?? Number(process.env.RELKD_DOCS_TIMEOUT_S ?? 60) * 1000;
  const written = write(units, outDir);
  // Start the processes first: they wait on I/O and module loading while tsc checks.
  const runs = pool(
    written.filter((w) => w.unit.run),
    jobs,
    async (w) => [w.unit.name, await runOne(w, timeoutMs)] as const,
  );
  const types = typecheck(written, root);
  const ran = new Map(await runs);
  return written.map((w) => {
    const r = ran.get(w.unit.name);
    const problems = [...(types.get(w.unit.name) ?? []), ...(r?.problems ?? [])];
    return r === undefined ? { unit: w.unit, problems } : { unit: w.unit, problems, ms: r.ms };
  });
}

/** A failure message for one unit: every problem with its Markdown location. */
export function formatProblems(r: UnitResult): string {
  return r.problems.map((p) => `${p.where}: ${p.message}`).join('\n');
}

/** Newest mtime under `dir` (files only). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Why the build the blocks import may not be these sources: a package whose src/ changed after
 * its build, or whose build belongs to another checkout (a git worktree sharing node_modules).
 */
export function buildWarnings(root = ROOT): string[] {
  const out: string[] = [];
  const elsewhere = new Set<string>();
  for (const p of published(root)) {
    const entry = builtEntry(root, p);
    const src = join(root, 'packages', p, 'src');
    if (entry === undefined || !existsSync(src)) continue;
    const real = realpathSync(entry);
    if (!real.startsWith(realpathSync(root) + sep)) elsewhere.add(resolve(dirname(real), '../..'));
    else if (newest(src) > statSync(real).mtimeMs)
      out.push(`@relkd/${p}: src/ is newer than its build (npm run build)`);
  }
  for (const dir of elsewhere)
    out.push(`@relkd/* resolve to the builds under ${dir}, outside this checkout`);
  return out;
}

async function main(): Promise<void> {
  assertBuilt();
  for (const w of buildWarnings()) console.warn(`warning: ${w}`);
  // Optional arguments: only these Markdown files (paths relative to the root).
  const only = process.argv.slice(2).map((f) => relative(ROOT, resolve(f)).split(sep).join('/'));
  const pick = <T extends { file: string }>(b: T) => only.length === 0 || only.includes(b.file);
  const all = collect();
  const blocks = all.blocks.filter(pick);
  const skipped = all.skipped.filter(pick);
  const units = all.units.filter((u) => pick(u.blocks[0]!));
  const t0 = performance.now();
  const results = await check(units);
  const failed = results.filter((r) => r.problems.length > 0);
  for (const r of failed) console.error(`\n✗ ${r.unit.name}\n${formatProblems(r)}`);
  const norun = units.filter((u) => !u.run);
  console.log(
    `\ndocs code blocks: ${blocks.length} (${units.length} programs): ${units.length - norun.length} run, ` +
      `${norun.length} typecheck only (norun), ${skipped.length} not checked (nocheck): ` +
      `${failed.length} failed, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const slowest = results
    .filter((r) => r.ms !== undefined)
    .sort((a, b) => b.ms! - a.ms!)
    .slice(0, 5)
    .map((r) => `${r.unit.name} ${(r.ms! / 1000).toFixed(1)} s`);
  if (slowest.length > 0) console.log(`  slowest: ${slowest.join(', ')}`);
  for (const b of skipped) console.log(`  nocheck: ${b.file}:${b.fenceLine}`);
  for (const u of norun) console.log(`  norun:   ${u.name}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
