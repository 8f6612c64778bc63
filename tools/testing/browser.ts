import { useBackend } from '@relkd/backend';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { expectClose } from './assertions';

// Browser-test helpers (Vitest browser mode, `npm run test:browser`). Import this file with a
// relative path; it has no Node built-ins (unlike `@relkd/testing`'s `loadFixture`: browser tests
// import fixtures as JSON modules instead).
export { expectClose, expectNoLeak, expectRelkdError } from './assertions';

/** WASM binary URLs as Vite serves them, for `useBackend('wasm', { wasmPaths })` in browser tests. */
export const BROWSER_WASM_PATHS: Record<string, string> = {
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
};

/** The backends every loss is smoke-tested on in the browser. */
export const BROWSER_BACKENDS = ['cpu', 'wasm', 'webgl'] as const;
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

/**
 * Selects `name` the way a browser application does: `useBackend(name, { wasmPaths, modules })`
 * with the tfjs-backend-wasm namespace the test imported (`import * as wasmModule from
 * '@tensorflow/tfjs-backend-wasm'`; the test also imports tfjs-backend-cpu and -webgl so the bundle
 * has them), then checks tfjs switched to it. Use in `beforeAll` of a `describe.each(BROWSER_BACKENDS)`.
 *
 * On webgl it also sets two tfjs flags for the test run:
 * - `WEBGL_CPU_FORWARD = false`: by default tfjs-backend-webgl runs an op on the CPU when all its
 *   inputs are still CPU-side and smaller than 128 elements, which is most of a small fixture (the
 *   results were then bit-identical to cpu); without forwarding every kernel runs as a shader.
 * - `WEBGL_USE_SHAPES_UNIFORMS = true`: shapes are passed as uniforms, so one compiled shader serves
 *   every fixture shape. Same kernels and math; SwiftShader compiles shaders slowly (the
 *   relation-network smoke took 31 s without it, 9 s with it).
 * and checks that textures are float32 (`WEBGL_RENDER_FLOAT32_ENABLED`).
 */
export async function useBrowserBackend(name: BrowserBackend, wasmModule: unknown): Promise<void> {
  const info = await useBackend(name, {
    wasmPaths: BROWSER_WASM_PATHS,
    modules: { '@tensorflow/tfjs-backend-wasm': wasmModule },
  });
  expect(info.name).toBe(name);
  expect(tf.getBackend()).toBe(name);
  if (name === 'webgl') {
    tf.env().set('WEBGL_CPU_FORWARD', false);
    tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', true);
    expect(tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'), 'webgl float32 textures').toBe(true);
  }
}

/** An element-wise tolerance `|a − e| <= atol + rtol·|e|`. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

/**
 * The tolerance of `kind` on `backend`: the node test's own (float32: values rtol 1e-5, gradients
 * rtol 1e-3, atol as the node test has it), on EVERY backend, webgl included.
 *
 * WebGL gets no extra tolerance because it does not need one: it computes in float32 here
 * (`WEBGL_RENDER_FLOAT32_ENABLED`, SwiftShader in headless Chromium), and against every golden
 * fixture of the six loss packages its worst error was within the float32 budget with a wide margin
 * (measured 2026-11 on webgl: values needed rtol <= 1.2e-6 — iccLoss — against 1e-5; gradients
 * needed rtol <= 2.2e-5 — kdLoss — against 1e-3; cpu and wasm are in the same range. The ledgers'
 * `summary()` lines in the test logs print the current figures). Reduction order and GLSL `exp`/`log` differ from the CPU by a few
 * ulp only. A real GPU (ANGLE on Metal/D3D, mobile float16 textures) may lose more bits: the smoke
 * tests pin SwiftShader float32 (`useBrowserBackend` asserts `WEBGL_RENDER_FLOAT32_ENABLED`).
 */
export function toleranceFor(
  _backend: BrowserBackend,
  kind: 'value' | 'grad',
  node: Partial<Tolerance> = {},
): Tolerance {
  return { rtol: node.rtol ?? (kind === 'value' ? 1e-5 : 1e-3), atol: node.atol ?? 1e-6 };
}

type Nested = number | Nested[];

function flat(x: tf.Tensor | Nested): number[] {
  if (x instanceof tf.Tensor) return Array.from(x.dataSync());
  const out: number[] = [];
  const walk = (v: Nested): void => {
    if (typeof v === 'number') out.push(v);
    else for (const item of v) walk(item);
  };
  walk(x);
  return out;
}

/**
 * Records, per backend and kind, the largest errors seen against the fixtures, and checks them.
 * `needRtol` is the smallest rtol that would pass with the tolerance's atol:
 * `max((|a − e| − atol) / |e|)`. The test files log the summary in `afterAll`.
 */
export class ErrorLedger {
  private readonly worst = new Map<
    string,
    { maxAbs: number; maxRel: number; needRtol: number; where: string; n: number }
  >();

  constructor(readonly backend: BrowserBackend) {}

  /** `expectClose(actual, expected, toleranceFor(backend, kind, node))`, recording the error first. */
  check(
    actual: tf.Tensor | Nested,
    expected: tf.Tensor | Nested,
    kind: 'value' | 'grad',
    label: string,
    node: Partial<Tolerance> = {},
  ): void {
    const tol = toleranceFor(this.backend, kind, node);
    const a = flat(actual);
    const e = flat(expected);
    const w = this.worst.get(kind) ?? { maxAbs: 0, maxRel: 0, needRtol: 0, where: '', n: 0 };
    for (let i = 0; i < Math.min(a.length, e.length); i++) {
      const d = Math.abs(a[i]! - e[i]!);
      const m = Math.abs(e[i]!);
      const rel = m > 0 ? d / m : d > 0 ? Number.POSITIVE_INFINITY : 0;
      const need = m > 0 ? Math.max(0, d - tol.atol) / m : d > tol.atol ? Infinity : 0;
      if (d > w.maxAbs) w.maxAbs = d;
      if (m > tol.atol && rel > w.maxRel) w.maxRel = rel;
      if (need > w.needRtol) {
        w.needRtol = need;
        w.where = label;
      }
      w.n++;
    }
    this.worst.set(kind, w);
    expectClose(actual, expected, { ...tol, label });
  }

  /** One line per kind: `webgl value: n=…, max |diff| …, max rel …, rtol needed … (label)`. */
  summary(): string {
    return [...this.worst.entries()]
      .map(
        ([kind, w]) =>
          `${this.backend} ${kind}: n=${w.n} max|diff|=${w.maxAbs.toExponential(2)} ` +
          `maxRel(|e|>atol)=${w.maxRel.toExponential(2)} rtolNeeded=${w.needRtol.toExponential(2)}` +
          (w.where ? ` (${w.where})` : ''),
      )
      .join('\n');
  }
}

/**
 * The per-backend set-up of a browser smoke suite: selects `backend` before its tests
 * ({@link useBrowserBackend}) and logs the error ledger's summary after them, prefixed with
 * `[label]`. Call it inside `describe.each(BROWSER_BACKENDS)`; the suite's own `beforeAll` hooks
 * run after the backend is selected.
 */
export function browserSuite(
  label: string,
  backend: BrowserBackend,
  wasmModule: unknown,
): ErrorLedger {
  const ledger = new ErrorLedger(backend);
  beforeAll(async () => {
    await useBrowserBackend(backend, wasmModule);
  });
  afterAll(() => {
    console.log(`[${label}] ${ledger.summary()}`);
  });
  return ledger;
}
