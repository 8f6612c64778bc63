import { scratch } from './hostMemory';
import { rowLossKernel } from './rowLossKernel';

/**
 * Fused `−scale · Σ_b Σ_c q_bc · log softmax(z_b/T)_c` and its gradient with respect to `z`,
 * `scale/T · (softmax(z/T) · Σ_c q_bc − q)`, in one pass per row over host memory (float64
 * accumulation). Inputs `z`, `q` `[B, C]`; attributes `temperature`, `scale`; outputs
 * `[value (scalar), dValue/dz [B, C]]`. Registered as core's `FUSED_SOFT_CE`;
 * `crossEntropy`/`softCrossEntropy` run it. Internal.
 */
export const softCrossEntropyKernel = rowLossKernel(
  ['z', 'q'],
  ({ x: zv, y: qv, cols, inv, gScale, g }) => {
    const e = scratch(0, cols);
    return (o) => {
      let m = Number.NEGATIVE_INFINITY;
      let mass = 0;
      for (let c = 0; c < cols; c++) {
        const a = (zv[o + c] as number) * inv;
        if (a > m) m = a;
        mass += qv[o + c] as number;
      }
      // One exp per element: e = exp(z/T − max), p = e / Σe, log p = z/T − max − log Σe.
      let sum = 0;
      for (let c = 0; c < cols; c++) {
        const v = Math.exp((zv[o + c] as number) * inv - m);
        e[c] = v;
        sum += v;
      }
      const lz = Math.log(sum) + m;
      let ce = 0;
      for (let c = 0; c < cols; c++) {
        const qc = qv[o + c] as number;
        if (qc !== 0) ce -= qc * ((zv[o + c] as number) * inv - lz);
        g[o + c] = gScale * (((e[c] as number) / sum) * mass - qc);
      }
      return ce;
    };
  },
);
