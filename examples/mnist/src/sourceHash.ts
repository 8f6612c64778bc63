import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * A 16-hex-digit sha256 of the TypeScript sources under `paths` (folders walked in name order,
 * test files skipped; single `.ts` files taken as they are), each file hashed with its path
 * relative to `root`. Cache keys use it so that a cached result is reused only by the code that
 * produced it. Paths that do not exist contribute nothing.
 *
 * @example
 * ```ts
 * const key = sourceHash(repoRoot, [join(repoRoot, 'packages', 'core', 'src')]);
 * ```
 */
export function sourceHash(root: string, paths: readonly string[]): string {
  const h = createHash('sha256');
  const add = (path: string) => {
    h.update(relative(root, path));
    h.update(readFileSync(path));
  };
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) add(path);
    }
  };
  for (const path of paths) {
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) walk(path);
    else add(path);
  }
  return h.digest('hex').slice(0, 16);
}
