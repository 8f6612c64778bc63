/**
 * Issue #9: no loss reads a tensor back to the CPU. Greps the loss packages' non-test sources for
 * `dataSync()`, `arraySync()`, `.data()`, `.array()`, `bufferSync()` and `.buffer()` calls and
 * fails with `file:line` for every call that is not a documented exception below.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { methodNames, methods } from '@relkd/layers/methods';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

/**
 * Packages whose shipped code builds losses and graphs (`@relkd/layers` and examples may sync):
 * core and every method's package, read from the `@relkd/layers/methods` registry.
 */
export const LOSS_PACKAGES = [
  ...new Set(['@relkd/core', ...methodNames.map((n) => methods[n].package)]),
].map((p) => p.slice('@relkd/'.length));

/** A read-back call: `.dataSync(`, `.arraySync(`, `.data(`, `.array(`, `.bufferSync(`, `.buffer(`. */
export const SYNC_CALL = /\.(dataSync|arraySync|data|array|bufferSync|buffer)\s*\(/;

/**
 * Documented exceptions: a read-back is allowed only in these files, on a line containing `line`.
 * Each one is outside every loss's hot path.
 */
export const ALLOWED: ReadonlyArray<{ file: string; line: string; why: string }> = [
  {
    file: 'packages/stage-distill/src/fitStageHeads.ts',
    line: 'const values = await sums.data();',
    why: 'fitStageHeads (a one-off pre-training loop, not a loss) reads its summed accuracy and loss once, after the last step',
  },
  {
    file: 'packages/core/src/validation/validation.ts',
    line: "validate === 'full'",
    why: "toLabels range check, only with validate: 'full' (opt-in, documented)",
  },
  {
    file: 'packages/core/src/validation/validation.ts',
    line: 'const data = t.dataSync();',
    why: "checkFinite, returns early unless validate === 'full'",
  },
  {
    file: 'packages/mixup-similarity/src/internal/mixArgs.ts',
    line: "if (validate === 'full')",
    why: "λ / permutation value checks, only with validate: 'full'",
  },
  {
    file: 'packages/relation-network/src/tripletIndices.ts',
    line: 'labels.dataSync()',
    why: 'batch arrangement, not a loss: reads the labels once (documented; pass a JS array to avoid it)',
  },
  {
    file: 'packages/class-correlation/src/correlationHeatmapSvg.ts',
    line: 'matrix.arraySync()',
    why: 'renders an SVG heat map for inspection: a visualisation, not a loss',
  },
];

/** Test sources and test-only helpers (not part of any loss). */
export function isTestFile(path: string): boolean {
  return /\.test\.ts$/.test(path) || /(^|\/)testUtils\.ts$/.test(path) || /\.bench\.ts$/.test(path);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return /\.(ts|tsx|mts|cts|js|mjs)$/.test(d.name) ? [p] : [];
  });
}

/** Drops comments (TSDoc, `//`, `/* *\/`) so documentation that mentions `dataSync()` is fine. */
export function codeOf(line: string, inBlock: { open: boolean }): string {
  let s = line;
  let out = '';
  while (s.length) {
    if (inBlock.open) {
      const end = s.indexOf('*/');
      if (end < 0) return out;
      inBlock.open = false;
      s = s.slice(end + 2);
      continue;
    }
    const block = s.indexOf('/*');
    const lineComment = s.indexOf('//');
    if (lineComment >= 0 && (block < 0 || lineComment < block))
      return out + s.slice(0, lineComment);
    if (block >= 0) {
      out += s.slice(0, block);
      inBlock.open = true;
      s = s.slice(block + 2);
      continue;
    }
    return out + s;
  }
  return out;
}

/** Every read-back call in `text` that is not an allowed exception, as `file:line: code`. */
export function findSyncCalls(file: string, text: string): string[] {
  const hits: string[] = [];
  const inBlock = { open: false };
  text.split('\n').forEach((raw, i) => {
    const code = codeOf(raw, inBlock);
    if (!SYNC_CALL.test(code)) return;
    const allowed = ALLOWED.some((a) => a.file === file && code.includes(a.line));
    if (!allowed) hits.push(`${file}:${i + 1}: ${raw.trim()}`);
  });
  return hits;
}

describe('no GPU->CPU read-back inside the loss packages', () => {
  it.each(
    LOSS_PACKAGES,
  )('%s: no dataSync/arraySync/data()/array() outside documented exceptions', (pkg) => {
    const files = sourceFiles(join(repoRoot, 'packages', pkg, 'src')).filter((f) => !isTestFile(f));
    expect(files.length).toBeGreaterThan(0);
    const hits = files.flatMap((f) =>
      findSyncCalls(relative(repoRoot, f).split('\\').join('/'), readFileSync(f, 'utf8')),
    );
    expect(hits, `read-back calls found:\n${hits.join('\n')}`).toEqual([]);
  });

  it('the scanner finds calls, ignores comments and honours only the listed exceptions', () => {
    const src = [
      '/** Reads `x.dataSync()` in the docs: fine. */',
      'const a = x.dataSync(); // caught',
      '// y.arraySync() in a comment: fine',
      'const b = await y.data();',
      'const c = z.array ( );',
      '/* w.buffer() */ const d = 1;',
      'return Array.from(labels.dataSync());',
    ].join('\n');
    expect(findSyncCalls('packages/x/src/loss.ts', src)).toEqual([
      'packages/x/src/loss.ts:2: const a = x.dataSync(); // caught',
      'packages/x/src/loss.ts:4: const b = await y.data();',
      'packages/x/src/loss.ts:5: const c = z.array ( );',
      'packages/x/src/loss.ts:7: return Array.from(labels.dataSync());',
    ]);
    expect(findSyncCalls('packages/relation-network/src/tripletIndices.ts', src)).toHaveLength(3);
    expect(isTestFile('packages/a/src/b.test.ts')).toBe(true);
    expect(isTestFile('packages/a/src/testUtils.ts')).toBe(true);
    expect(isTestFile('packages/a/src/b.ts')).toBe(false);
  });
});
