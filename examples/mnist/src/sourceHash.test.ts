import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sourceHash } from './sourceHash';

describe('sourceHash', () => {
  let root = '';
  const setUp = () => {
    root = mkdtempSync(join(tmpdir(), 'relkd-hash-'));
    mkdirSync(join(root, 'a', 'sub'), { recursive: true });
    writeFileSync(join(root, 'a', 'x.ts'), 'export const x = 1;\n');
    writeFileSync(join(root, 'a', 'sub', 'y.ts'), 'export const y = 2;\n');
    writeFileSync(join(root, 'a', 'x.test.ts'), 'test\n');
    writeFileSync(join(root, 'a', 'notes.md'), 'notes\n');
    writeFileSync(join(root, 'z.ts'), 'export const z = 3;\n');
    return [join(root, 'a'), join(root, 'z.ts')];
  };
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is stable and changes with any source file, its path or the file list', () => {
    const paths = setUp();
    const h = sourceHash(root, paths);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(sourceHash(root, paths)).toBe(h);
    writeFileSync(join(root, 'a', 'sub', 'y.ts'), 'export const y = 3;\n');
    const h2 = sourceHash(root, paths);
    expect(h2).not.toBe(h);
    expect(sourceHash(root, [paths[0] as string])).not.toBe(h2);
    rmSync(join(root, 'z.ts'));
    writeFileSync(join(root, 'a', 'z.ts'), 'export const z = 3;\n');
    expect(sourceHash(root, paths)).not.toBe(h2);
  });

  it('ignores test files, non-TypeScript files and missing paths', () => {
    const paths = setUp();
    const h = sourceHash(root, paths);
    writeFileSync(join(root, 'a', 'x.test.ts'), 'changed\n');
    writeFileSync(join(root, 'a', 'notes.md'), 'changed\n');
    expect(sourceHash(root, [...paths, join(root, 'missing')])).toBe(h);
  });
});
