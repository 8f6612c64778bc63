import * as tf from '@tensorflow/tfjs-core';

/** One timed case: forward-only or forward + backward. */
export interface Measurement {
  /** Median wall time of one call, ms. */
  medianMs: number;
  /** 10th and 90th percentile, ms (spread). */
  p10Ms: number;
  p90Ms: number;
  repeats: number;
  /** Kernels dispatched by one call (tf.profile). */
  kernels: number;
  /**
   * Peak bytes allocated during one call above what was alive before it (tf.profile's
   * `peakBytes` is the engine's absolute total, which includes the inputs: we subtract the
   * bytes alive at the start, so this is the call's working memory, outputs included).
   */
  peakBytes: number;
  /** Bytes alive before the profiled call (inputs and anything else alive). */
  baseBytes: number;
  /** Tensors left alive by one call (must be 0). */
  leakedTensors: number;
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

/**
 * Times `fn` (which returns tensors; they are read back to force completion, then disposed).
 * Runs `warmup` untimed calls, then `repeats` timed calls; then one `tf.profile` call for kernel
 * count and peak memory, and one leak check.
 */
export async function measure(
  fn: () => tf.TensorContainer,
  {
    warmup = 3,
    repeats = 10,
    maxMs = 4000,
    slowMs = 1500,
    verySlowMs = 20000,
  }: {
    warmup?: number;
    repeats?: number;
    maxMs?: number;
    slowMs?: number;
    verySlowMs?: number;
  } = {},
): Promise<Measurement> {
  const runOnce = async (): Promise<void> => {
    const out = fn();
    // cpu and wasm run kernels synchronously; reading the small outputs (the loss scalars)
    // back also waits for asynchronous backends without copying large gradients.
    await Promise.all(
      collect(out)
        .filter((t) => t.size <= 65536)
        .map((t) => t.data()),
    );
    tf.dispose(out);
  };
  // Slow cases (a call over `slowMs`, e.g. VRM at C = 1000 on the cpu backend) get one warm-up
  // call and three timed calls, so a loaded machine still finishes the run.
  // A very slow case (first call over `verySlowMs`: VRM at C = 1000 on the cpu backend) is timed
  // by that one call alone (reported as repeats = 1).
  let slow = false;
  let first = Number.NaN;
  for (let i = 0; i < warmup && !slow; i++) {
    const t0 = performance.now();
    await runOnce();
    const dt = performance.now() - t0;
    if (i === 0) first = dt;
    slow = dt > slowMs;
  }
  if (slow) repeats = Math.min(repeats, 3);
  if (first > verySlowMs) repeats = 0;
  const times: number[] = repeats === 0 ? [first] : [];
  const started = performance.now();
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await runOnce();
    times.push(performance.now() - t0);
    if (performance.now() - started > maxMs && times.length >= 3) break;
  }
  times.sort((a, b) => a - b);
  const before = tf.memory().numTensors;
  const baseBytes = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const out = fn();
    tf.dispose(out);
    return undefined as unknown as tf.Tensor;
  });
  const leakedTensors = tf.memory().numTensors - before;
  return {
    medianMs: quantile(times, 0.5),
    p10Ms: quantile(times, 0.1),
    p90Ms: quantile(times, 0.9),
    repeats: times.length,
    kernels: info.kernels.length,
    peakBytes: Math.max(0, info.peakBytes - baseBytes),
    baseBytes,
    leakedTensors,
  };
}

/** All tensors inside a TensorContainer. */
export function collect(x: tf.TensorContainer): tf.Tensor[] {
  if (x instanceof tf.Tensor) return [x];
  if (x == null || typeof x !== 'object') return [];
  const values = Array.isArray(x) ? x : Object.values(x as Record<string, tf.TensorContainer>);
  return values.flatMap((v) => collect(v as tf.TensorContainer));
}
