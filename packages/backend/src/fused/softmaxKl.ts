import type * as tf from '@tensorflow/tfjs-core';
import { fusedLossOutputs, hostValues, scratch } from './hostMemory';

/**
 * Fused `scale · Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T))` and its gradient with respect to `s`,
 * `scale/T · (softmax(s/T) − softmax(t/T))`, in one pass per row over host memory (float64
 * accumulation). Inputs `s`, `t` `[B, C]`; attributes `temperature`, `scale`; outputs
 * `[value (scalar), dValue/ds [B, C]]`. Registered as core's `FUSED_SOFTMAX_KL`;
 * `klDivergence`/`kdLoss` run it. Internal.
 */
export const softmaxKlKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { s, t } = inputs as { s: tf.TensorInfo; t: tf.TensorInfo };
  const { temperature, scale } = attrs as unknown as { temperature: number; scale: number };
  const be = backend as tf.KernelBackend;
  const [rows, cols] = s.shape as [number, number];
  return fusedLossOutputs(be, [rows, cols], scale, (g) => {
    let total = 0;
    // Views after the allocation (a wasm heap may have grown and moved).
    const sv = hostValues(be, s);
    const tv = hostValues(be, t);
    const inv = 1 / temperature;
    const gScale = scale / temperature;
    const es = scratch(0, cols);
    const et = scratch(1, cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let ms = Number.NEGATIVE_INFINITY;
      let mt = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < cols; c++) {
        const a = (sv[o + c] as number) * inv;
        const b = (tv[o + c] as number) * inv;
        if (a > ms) ms = a;
        if (b > mt) mt = b;
      }
      // One exp per element and side: e = exp(z/T − max), p = e / Σe, log p = z/T − max − log Σe.
      let zs = 0;
      let zt = 0;
      for (let c = 0; c < cols; c++) {
        const a = Math.exp((sv[o + c] as number) * inv - ms);
        const b = Math.exp((tv[o + c] as number) * inv - mt);
        es[c] = a;
        et[c] = b;
        zs += a;
        zt += b;
      }
      const lzs = Math.log(zs) + ms;
      const lzt = Math.log(zt) + mt;
      let kl = 0;
      for (let c = 0; c < cols; c++) {
        const pt = (et[c] as number) / zt;
        const ps = (es[c] as number) / zs;
        kl += pt * ((tv[o + c] as number) * inv - lzt - ((sv[o + c] as number) * inv - lzs));
        g[o + c] = gScale * (ps - pt);
      }
      total += kl;
    }
    return total;
  });
};
