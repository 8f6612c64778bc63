/**
 * `@relkd/testing/plain`: the shared test utilities without @relkd/backend, for @relkd/core's
 * own tests (core sits below @relkd/backend, so its tests must not load it: no
 * core -> testing -> backend -> core loop). `usePlainBackend(name)` selects cpu or wasm with plain
 * tfjs; everything else is as in `@relkd/testing`.
 */

export * from './assertions';
export * from './fixtures';
export * from './plainBackends';
