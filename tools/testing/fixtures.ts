import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Loads `<package>/fixtures/<name>.json` for a test file inside `<package>/src` or
 * `<package>/test`. Pass `import.meta.url` of the test.
 */
export function loadFixture<T = unknown>(testFileUrl: string, name: string): T {
  const dir = dirname(fileURLToPath(testFileUrl));
  const pkgRoot = dir.replace(/[/\\](src|test)([/\\].*)?$/, '');
  return JSON.parse(readFileSync(join(pkgRoot, 'fixtures', `${name}.json`), 'utf8')) as T;
}
