import * as tf from '@tensorflow/tfjs-core';
import { emitWarning } from '../errors/warnings';

/**
 * Someone using a copy of `@tensorflow/tfjs-core`, for {@link checkTfjsCore}: a package and the
 * tfjs-core it runs on, recognised by objects unique to that copy (its `KernelBackend` or `Tensor`
 * class, or the root class of a backend instance it created).
 */
export interface TfjsCoreUser {
  /** Who, e.g. `'@relkd/backend'` or `'@tensorflow/tfjs-backend-wasm 4.21.0'`. */
  readonly by: string;
  /** The version of the tfjs-core copy it uses, when known. */
  readonly version?: string | undefined;
  /** Objects unique to that copy; two users sharing one of them share the copy. */
  readonly markers: readonly unknown[];
}

/** One copy of `@tensorflow/tfjs-core` seen by {@link checkTfjsCore}. */
export interface TfjsCoreCopy {
  /** Its version, `undefined` when it could not be told. */
  readonly version: string | undefined;
  /** Who uses it. */
  readonly usedBy: readonly string[];
}

interface Entry {
  version: string | undefined;
  usedBy: string[];
  markers: unknown[];
}

interface Registry {
  /** Each @relkd/core copy's own tfjs-core (the users passed to a call are not kept). */
  cores: TfjsCoreUser[];
  /** Sets of copies already warned about. */
  reported: Set<string>;
}

/** Shared by every copy of @relkd/core in the process (a global, like tfjs-core's own engine). */
const REGISTRY = Symbol.for('relkd.tfjsCoreUsers');

function registry(): Registry {
  const g = globalThis as { [REGISTRY]?: Registry };
  g[REGISTRY] ??= { cores: [], reported: new Set() };
  return g[REGISTRY];
}

/** The `Tensor` class of the first tfjs-core copy loaded in this process (tfjs-core keeps it on a global). */
function firstTensorClass(): unknown {
  const globals = (globalThis as { _tfGlobals?: { get?: (key: string) => unknown } })._tfGlobals;
  return typeof globals?.get === 'function' ? globals.get('Tensor') : undefined;
}

function merge(users: readonly TfjsCoreUser[]): Entry[] {
  const entries: Entry[] = [];
  for (const u of users) {
    const hits = entries.filter((e) => u.markers.some((m) => e.markers.includes(m)));
    const into: Entry = hits[0] ?? { version: undefined, usedBy: [], markers: [] };
    if (hits.length === 0) entries.push(into);
    for (const other of hits.slice(1)) {
      into.usedBy.push(...other.usedBy);
      into.markers.push(...other.markers);
      into.version ??= other.version;
      entries.splice(entries.indexOf(other), 1);
    }
    if (!into.usedBy.includes(u.by)) into.usedBy.push(u.by);
    for (const m of u.markers) if (!into.markers.includes(m)) into.markers.push(m);
    into.version ??= u.version;
  }
  return entries;
}

/**
 * Checks that the process runs on **one** copy of `@tensorflow/tfjs-core`. A second copy (e.g. an
 * application on `@tensorflow/tfjs@4.21` next to relkd's 4.22, which npm installs side by side)
 * shares tfjs' engine but brings its own ops, kernels and gradients, so versions mix silently.
 *
 * It compares the users given with the tfjs-core of every @relkd/core copy in the process (kept in
 * a process-wide registry), and notices a copy loaded before relkd's (tfjs-core keeps the first
 * copy's `Tensor` class on a global). When it finds more than one copy it warns once (code `DUPLICATE_TFJS_CORE`, through the
 * handler set with `setWarningHandler`; by default `console.warn`), naming the versions and who
 * uses each, and how to fix it (one version of every `@tensorflow/*` package, `npm dedupe`).
 * `useBackend` (`@relkd/backend`) calls it with the backend it selected; call it yourself if you
 * select backends with `tf.setBackend`. Returns the copies found (one when all is well).
 *
 * @example
 * ```ts
 * const copies = checkTfjsCore();
 * console.log(copies.length === 1 ? 'one tfjs-core' : copies);
 * ```
 */
export function checkTfjsCore(users: readonly TfjsCoreUser[] = []): readonly TfjsCoreCopy[] {
  const reg = registry();
  const own: TfjsCoreUser = {
    by: '@relkd/core',
    version: tf.version_core,
    markers: [tf.KernelBackend, tf.Tensor],
  };
  if (!reg.cores.some((c) => c.markers[0] === own.markers[0])) reg.cores.push(own);
  const entries = merge([...reg.cores, ...users]);
  const first = firstTensorClass();
  if (first !== undefined && !entries.some((e) => e.markers.includes(first))) {
    // A copy loaded before relkd's: the same as the one other copy we know of, if there is one.
    const others = entries.filter((e) => !e.usedBy.includes('@relkd/core'));
    const note = 'code loaded before relkd (e.g. @tensorflow/tfjs or @tensorflow/tfjs-layers)';
    if (others.length === 1) others[0]!.usedBy.push(note);
    else entries.push({ version: undefined, usedBy: [note], markers: [first] });
  }
  if (entries.length > 1) {
    const signature = entries.map((e) => `${e.version}:${e.usedBy.join('+')}`).join('|');
    if (!reg.reported.has(signature)) {
      reg.reported.add(signature);
      report(entries);
    }
  }
  return entries.map((e) => ({ version: e.version, usedBy: [...e.usedBy] }));
}

function report(entries: Entry[]): void {
  const ours = entries.find((e) => e.usedBy.includes('@relkd/core'));
  const want = ours?.version ?? tf.version_core;
  const list = entries
    .map((e) => `${e.version ?? 'version unknown'} (used by ${e.usedBy.join(', ')})`)
    .join(' and ');
  const versions = [...new Set(entries.map((e) => e.version ?? 'unknown'))].join(' vs ');
  emitWarning(
    'DUPLICATE_TFJS_CORE',
    'tfjs-core',
    `${entries.length} copies of @tensorflow/tfjs-core are loaded: ${list}. They share one engine, ` +
      "but each brings its own ops, kernels and gradients, so tfjs' versions mix (wrong results " +
      'or errors deep inside tfjs). Fix: use one version of every @tensorflow/* package (relkd ' +
      `runs on ${want}: e.g. \`npm i @tensorflow/tfjs@${want}\`, or @tensorflow/tfjs-core and the ` +
      `backends at ${want}), then run \`npm dedupe\`; \`npm ls @tensorflow/tfjs-core\` must list ` +
      'one version.',
    { versions, copies: entries.map((e) => ({ version: e.version, usedBy: [...e.usedBy] })) },
  );
}
