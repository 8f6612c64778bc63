import { scratch } from './hostMemory';
import { rowLossKernel } from './rowLossKernel';

/**
 * Fused `scale · Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T))` and its gradient with respect to `s`,
 * `scale/T · (softmax(s/T) − softmax(t/T))`, in one pass per row over host memory (float64
 * accumulation). Inputs `s`, `t` `[B, C]`; attributes `temperature`, `scale`; outputs
 * `[value (scalar), dValue/ds [B, C]]`. Registered as core's `FUSED_SOFTMAX_KL`;
 * `klDivergence`/`kdLoss` run it. Internal.
 */
export const softmaxKlKernel = rowLossKernel(
  ['s', 't'],
  ({ x: sv, y: tv, cols, inv, gScale, g }) => {
    const es = scratch(0, cols);
    const et = scratch(1, cols);
    return (o) => {
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
      return kl;
    };
  },
);
