import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * An esbuild plugin for @relkd/backend's build. tfjs-core's gradient definitions exist only as
 * extensionless ESM files under `@tensorflow/tfjs-core/dist/`, which plain Node cannot load, so the
 * build bundles them. Bundled as they are, they drag in a private copy of ~250 kB of tfjs-core
 * internals (engine, tensor, io, most ops). This plugin rewrites the relative imports of every
 * tfjs-core file it bundles: each imported name that tfjs-core's public entry exports (as itself,
 * or as a member of a public namespace such as `util` or `backend_util`) is imported from the
 * external '@tensorflow/tfjs-core' instead; only the rest (the gradient files and a few private
 * helpers such as `convertToTensor`) is bundled. What is public is found by following tfjs-core's
 * own `export` statements from `dist/index.js` down to the declaring module, so a name is only
 * replaced by the very same binding, and the rewrite follows tfjs-core upgrades. `ENGINE` (not
 * public) becomes `engine()`: tfjs-core keeps one engine per process (`globalThis._tfengine`).
 * `packages/backend/scripts/smoke.mjs` checks the built gradients against central differences.
 */

const require = createRequire(import.meta.url);
const coreDist = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist');

/** Where a public name comes from: `name` exported by `file`. */
interface Origin {
  file: string;
  name: string;
}

/** A module's exports: exported name -> origin, plus `export *` targets. */
interface ModuleExports {
  named: Map<string, Origin | { namespaceOf: string }>;
  stars: string[];
}

const cache = new Map<string, ModuleExports>();

function resolveRel(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  for (const f of [`${base}.js`, join(base, 'index.js'), base]) if (existsSync(f)) return f;
  throw new Error(`tsup.tfjs-core: cannot resolve ${spec} from ${from}`);
}

const strip = (src: string) => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

/** Parses tsc's ESM output: the export forms tfjs-core's dist uses. */
function parse(file: string): ModuleExports {
  const hit = cache.get(file);
  if (hit) return hit;
  const src = strip(readFileSync(file, 'utf8'));
  const named: ModuleExports['named'] = new Map();
  const stars: string[] = [];
  const imports = new Map<string, Origin | { namespaceOf: string }>();
  for (const m of src.matchAll(/import\s+\*\s+as\s+(\w+)\s+from\s+'([^']+)'/g))
    if (m[2]!.startsWith('.')) imports.set(m[1]!, { namespaceOf: resolveRel(file, m[2]!) });
  for (const m of src.matchAll(/import\s*\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
    if (!m[2]!.startsWith('.')) continue;
    const target = resolveRel(file, m[2]!);
    for (const [name, local] of specifiers(m[1]!)) imports.set(local, { file: target, name });
  }
  for (const m of src.matchAll(/export\s+\*\s+from\s+'([^']+)'/g))
    stars.push(resolveRel(file, m[1]!));
  for (const m of src.matchAll(/export\s*\{([^}]*)\}\s*(from\s*'([^']+)')?/g)) {
    const target = m[3] === undefined ? undefined : resolveRel(file, m[3]);
    for (const [name, exported] of specifiers(m[1]!)) {
      if (target !== undefined) named.set(exported, { file: target, name });
      else named.set(exported, imports.get(name) ?? { file, name });
    }
  }
  for (const m of src.matchAll(
    /export\s+(?:declare\s+)?(?:async\s+)?(?:const|let|var|function\*?|class|enum)\s+(\w+)/g,
  ))
    named.set(m[1]!, { file, name: m[1]! });
  const out = { named, stars };
  cache.set(file, out);
  return out;
}

/** `a, b as c` -> [[a, a], [b, c]]. */
function specifiers(list: string): [string, string][] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('type '))
    .map((s) => {
      const [name, alias] = s.split(/\s+as\s+/);
      return [name!.trim(), (alias ?? name!).trim()];
    });
}

/** Every name `file` exports, with its origin (through `export *` and re-export chains). */
function exportsOf(
  file: string,
  seen = new Set<string>(),
): Map<string, Origin | { namespaceOf: string }> {
  const out = new Map<string, Origin | { namespaceOf: string }>();
  if (seen.has(file)) return out;
  seen.add(file);
  const { named, stars } = parse(file);
  for (const star of stars)
    for (const [k, v] of exportsOf(star, seen)) if (k !== 'default' && !out.has(k)) out.set(k, v);
  for (const [k, v] of named) out.set(k, v);
  return out;
}

/** Follows re-exports to the module that declares the binding. */
function origin(o: Origin, depth = 0): Origin {
  if (depth > 20) return o;
  const { named } = parse(o.file);
  const direct = named.get(o.name);
  if (direct !== undefined && !('namespaceOf' in direct)) {
    if (direct.file === o.file && direct.name === o.name) return o;
    return origin(direct, depth + 1);
  }
  for (const star of parse(o.file).stars)
    if (exportsOf(star).has(o.name)) return origin({ file: star, name: o.name }, depth + 1);
  return o;
}

const key = (o: Origin) => `${o.file}#${o.name}`;

/** origin -> public top-level name, or `namespace.member` for members of public namespaces. */
function publicApi(): Map<string, string> {
  const byOrigin = new Map<string, string>();
  const members = new Map<string, string>();
  for (const [name, o] of exportsOf(join(coreDist, 'index.js'))) {
    if ('namespaceOf' in o) {
      for (const [member, mo] of exportsOf(o.namespaceOf))
        if (!('namespaceOf' in mo)) members.set(key(origin(mo)), `${name}.${member}`);
    } else byOrigin.set(key(origin(o)), name);
  }
  for (const [k, v] of members) if (!byOrigin.has(k)) byOrigin.set(k, v);
  return byOrigin;
}

/** The public name of the namespace object of module `file` (`util`, `backend_util`, ...). */
function publicNamespace(file: string): string | undefined {
  for (const [name, o] of exportsOf(join(coreDist, 'index.js')))
    if ('namespaceOf' in o && o.namespaceOf === file) return name;
  return undefined;
}

const ENGINE_FILE = join(coreDist, 'engine.js');

/**
 * Rewrites the relative imports of one tfjs-core file: each imported name whose origin is public
 * comes from '@tensorflow/tfjs-core' (`ns.member` through its public namespace); the rest stays
 * relative (bundled). Namespace imports (`import * as x`) of a public namespace become that
 * namespace.
 */
function rewrite(file: string, src: string, api: Map<string, string>): string {
  let n = 0;
  return src
    .replace(
      /^import\s+\*\s+as\s+(\w+)\s+from\s+'(\.[^']*)';/gm,
      (all, local: string, spec: string) => {
        const name = publicNamespace(resolveRel(file, spec));
        return name === undefined
          ? all
          : `import { ${name} as ${local} } from '@tensorflow/tfjs-core';`;
      },
    )
    .replace(
      /^import\s*\{([^}]*)\}\s*from\s*'(\.[^']*)';/gm,
      (_all, list: string, spec: string) => {
        const target = resolveRel(file, spec);
        const kept: string[] = [];
        const pub: string[] = [];
        const consts: string[] = [];
        for (const [name, local] of specifiers(list)) {
          if (target === ENGINE_FILE && name === 'ENGINE') {
            const e = `__relkd_engine${n++}`;
            pub.push(`engine as ${e}`);
            consts.push(`const ${local} = ${e}();`);
            continue;
          }
          const exported = exportsOf(target).get(name);
          const p =
            exported !== undefined && 'namespaceOf' in exported
              ? publicNamespace(exported.namespaceOf)
              : api.get(key(origin({ file: target, name })));
          if (p === undefined) kept.push(name === local ? name : `${name} as ${local}`);
          else if (!p.includes('.')) pub.push(p === local ? p : `${p} as ${local}`);
          else {
            const [ns, member] = p.split('.') as [string, string];
            const alias = `__relkd_${ns}${n++}`;
            pub.push(`${ns} as ${alias}`);
            consts.push(`const ${local} = ${alias}.${member};`);
          }
        }
        return [
          ...(pub.length > 0 ? [`import { ${pub.join(', ')} } from '@tensorflow/tfjs-core';`] : []),
          ...(kept.length > 0 ? [`import { ${kept.join(', ')} } from '${spec}';`] : []),
          ...consts,
        ].join(' ');
      },
    );
}

/** See the file comment. `report` receives the tfjs-core modules still bundled. */
export function tfjsCorePublic(report?: (bundled: string[]) => void): Plugin {
  return {
    name: 'relkd-tfjs-core-public',
    setup(build) {
      const api = publicApi();
      const bundled = new Set<string>();
      build.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(coreDist)) return undefined;
        bundled.add(relative(coreDist, args.path));
        return {
          contents: rewrite(args.path, readFileSync(args.path, 'utf8'), api),
          loader: 'js',
          resolveDir: dirname(args.path),
        };
      });
      build.onEnd(() => report?.([...bundled].sort()));
    },
  };
}
