/**
 * Shared test utilities for every relkd package (tests only, never published).
 *
 * - `BACKENDS` / `useTestBackend(name)`: run a suite on cpu and wasm (`describe.each(BACKENDS)`)
 *   through `@relkd/backend`'s `useBackend`. @relkd/core's tests use `@relkd/testing/plain`
 *   (`usePlainBackend`, the same helpers without @relkd/backend) instead.
 * - `expectClose`: element-wise `|a − e| <= atol + rtol·|e|` with a readable failure.
 * - `expectNoLeak`: `tf.memory().numTensors` unchanged by a call (also when it throws).
 * - `expectRelkdError`: a call throws `RelkdError` with the given code, leaking nothing.
 * - `loadFixture`: reads a JSON fixture written by `tools/reference/*.py`.
 * - `fdDirectional`: float32 central-difference directional derivative for gradient checks.
 * - `useWebGpuTestBackend` / `read` / `runOn` / `expectNoLeakAsync` / `WEBGPU_*_TOL`: the `webgpu`
 *   project (Dawn on SwiftShader), which reads asynchronously.
 */

export * from './assertions';
export * from './backends';
export * from './fixtures';
export * from './webgpu';
