/**
 * Writing the CLI's outputs into the repository: splicing a generated section into a Markdown
 * page between markers, and formatting written JSON with the repository's biome settings.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './jobs';

/** Best-effort formatting of written JSON like the rest of the repo (biome), so lint stays clean. */
export function formatJson(path: string): void {
  spawnSync(join(repoRoot, 'node_modules', '.bin', 'biome'), ['format', '--write', path], {
    cwd: repoRoot,
    stdio: 'ignore',
  });
}

/**
 * Writes `content` between `<!-- marker:start -->` and `<!-- marker:end -->` of the page at
 * `path`: replaces an existing section, appends one under `## title` to a page without it, or
 * starts a page. Text outside the markers is never changed.
 */
export function spliceSection(path: string, marker: string, title: string, content: string): void {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (doc.includes(start) && doc.includes(end)) {
    doc = `${doc.slice(0, doc.indexOf(start) + start.length)}\n${content}\n${doc.slice(doc.indexOf(end))}`;
  } else if (doc.trim() !== '') {
    doc = `${doc.trimEnd()}\n\n## ${title}\n\n${start}\n${content}\n${end}\n`;
  } else {
    doc = `# Distillation benchmark\n\n${start}\n${content}\n${end}\n`;
  }
  writeFileSync(path, doc);
}
