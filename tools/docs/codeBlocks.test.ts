/**
 * Docs are code: every ```ts block of README.md, docs/ and the package READMEs typechecks and
 * runs (conventions: tools/docs/extract.ts and docs/contributing.md). One test per block, named
 * `file:line` of its fence; a failure lists the type errors and the run's output with Markdown
 * lines.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  buildWarnings,
  check,
  collect,
  extractBlocks,
  formatProblems,
  ROOT,
  toUnits,
  type UnitResult,
} from './extract';

/** Blocks that are neither typechecked nor run: keep them rare (a type listing, say). */
const MAX_NOCHECK = 2;

const docs = collect();

describe('docs code blocks', () => {
  const results = new Map<string, UnitResult>();

  beforeAll(async () => {
    assertBuilt();
    for (const w of buildWarnings()) console.warn(`docs check: ${w}`);
    const t0 = performance.now();
    for (const r of await check(docs.units)) results.set(r.unit.name, r);
    const norun = docs.units.filter((u) => !u.run);
    console.log(
      `docs code blocks: ${docs.blocks.length} in ${docs.units.length} programs, ` +
        `${docs.units.length - norun.length} run, ${norun.length} typechecked only (norun: ` +
        `${norun.map((u) => u.name).join(', ')}), ${docs.skipped.length} not checked (nocheck: ` +
        `${docs.skipped.map((b) => `${b.file}:${b.fenceLine}`).join(', ')}); ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, 600_000);

  it('finds the blocks and keeps nocheck rare', () => {
    expect(docs.units.length).toBeGreaterThan(20);
    const skipped = docs.skipped.map((b) => `${b.file}:${b.fenceLine}`);
    expect(skipped.length, `nocheck blocks: ${skipped.join(', ')}`).toBeLessThanOrEqual(
      MAX_NOCHECK,
    );
  });

  it.each(docs.units.map((u) => [u.name, u] as const))('%s', (name) => {
    const r = results.get(name);
    if (r === undefined) throw new Error(`${name}: not checked`);
    if (r.problems.length > 0) throw new Error(`\n${formatProblems(r)}`);
  });
});

describe('the docs extractor', () => {
  const md = [
    '# A page', //                                           1
    '',
    '```sh',
    'npm i x',
    '```',
    '', //                                                   6
    '```ts standalone',
    "const n: number = 'one';", //                           8: a type error
    '```',
    '', //                                                   10
    '  ```typescript standalone',
    '  const a = 2;',
    "  throw new Error('boom ' + a);", //                    13: throws
    '  ```',
    '',
    '```ts norun',
    'const b: string = document.title;', //                  17
    '```',
    '',
    '```ts continues',
    'console.log(b.length);', //                             21
    '```',
    '',
    '```ts nocheck',
    '{ name: string }',
    '```',
    '',
    '```ts standalone',
    'await new Promise((done) => setTimeout(done, 60_000));', // 29: times out
    '```',
  ].join('\n');

  it('extracts ts blocks with their flags and lines, and groups continuations', () => {
    const blocks = extractBlocks('page.md', md);
    expect(blocks.map((b) => [b.fenceLine, b.flags, b.indent])).toEqual([
      [7, ['standalone'], 0],
      [11, ['standalone'], 2],
      [16, ['norun'], 0],
      [20, ['continues'], 0],
      [24, ['nocheck'], 0],
      [28, ['standalone'], 0],
    ]);
    expect(blocks[1]!.code).toBe("const a = 2;\nthrow new Error('boom ' + a);");
    const { units, skipped } = toUnits(blocks);
    expect(units.map((u) => [u.name, u.blocks.length, u.run, u.standalone])).toEqual([
      ['page.md:7', 1, true, true],
      ['page.md:11', 1, true, true],
      ['page.md:16', 2, false, false],
      ['page.md:28', 1, true, true],
    ]);
    expect(skipped.map((b) => b.fenceLine)).toEqual([24]);
  });

  it('rejects unknown flags and a continuation without a block before it', () => {
    expect(() => extractBlocks('p.md', '```ts nochek\n1\n```')).toThrow(/p\.md:1: unknown/);
    expect(() => toUnits(extractBlocks('p.md', '```ts continues\n1\n```'))).toThrow(
      /p\.md:1: 'continues' needs/,
    );
  });

  it('reports type errors, runtime errors and timeouts at their Markdown lines', async () => {
    const { units } = toUnits(extractBlocks('page.md', md));
    const outDir = join(ROOT, '.cache/docs-blocks-selftest');
    const [[typeError, thrown, norun], [slow]] = await Promise.all([
      check(units.slice(0, 3), { outDir: `${outDir}/a`, jobs: 2, timeoutMs: 30_000 }),
      check(units.slice(3), { outDir: `${outDir}/b`, timeoutMs: 1_000 }),
    ]);
    expect(formatProblems(typeError!)).toMatch(/^page\.md:8:7: TS2322/);
    expect(formatProblems(thrown!)).toMatch(/^page\.md:13:\d+: exited with code 1/);
    expect(formatProblems(thrown!)).toContain('Error: boom 2');
    expect(norun!.problems).toEqual([]);
    expect(norun!.ms).toBeUndefined();
    expect(formatProblems(slow!)).toMatch(/^page\.md:28: timed out after 1 s/);
  }, 60_000);
});
