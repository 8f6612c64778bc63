const f32 = Math.fround;

/**
 * Column sums of a row-major block, as tfjs-backend-wasm's reductions compute them after their
 * transpose: `o[oBase + k] = Σ_r v[vBase + r·c + k]` for k < c, r ascending from 0 to `rows` − 1,
 * each addition rounded to float32, starting from 0. Sixteen columns at a time in float32
 * accumulators held in locals, then eight, then one (each width its own function, so that V8
 * optimises each loop on its own): one pass over the rows per sixteen columns instead of per eight,
 * 1.1-1.3x faster than eight at a time for 16-64 columns inside the `Sum` kernel; the same additions
 * in the same order.
 * Internal to the wasm reductions (`Sum`, `Mean`).
 */
export function sumColumns(
  v: Float32Array,
  vBase: number,
  rows: number,
  c: number,
  o: Float32Array,
  oBase: number,
): void {
  const end = vBase + rows * c;
  let k0 = 0;
  for (; k0 + 16 <= c; k0 += 16) columns16(v, vBase, end, c, o, oBase, k0);
  for (; k0 + 8 <= c; k0 += 8) columns8(v, vBase, end, c, o, oBase, k0);
  for (let k = k0; k < c; k++) {
    let a = 0;
    for (let i = vBase + k; i < end; i += c) a = f32(a + (v[i] as number));
    o[oBase + k] = a;
  }
}

/** Columns k0 … k0 + 15 of {@link sumColumns}. */
function columns16(
  v: Float32Array,
  vBase: number,
  end: number,
  c: number,
  o: Float32Array,
  oBase: number,
  k0: number,
): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let a4 = 0;
  let a5 = 0;
  let a6 = 0;
  let a7 = 0;
  let a8 = 0;
  let a9 = 0;
  let a10 = 0;
  let a11 = 0;
  let a12 = 0;
  let a13 = 0;
  let a14 = 0;
  let a15 = 0;
  for (let i = vBase + k0; i < end; i += c) {
    a0 = f32(a0 + (v[i] as number));
    a1 = f32(a1 + (v[i + 1] as number));
    a2 = f32(a2 + (v[i + 2] as number));
    a3 = f32(a3 + (v[i + 3] as number));
    a4 = f32(a4 + (v[i + 4] as number));
    a5 = f32(a5 + (v[i + 5] as number));
    a6 = f32(a6 + (v[i + 6] as number));
    a7 = f32(a7 + (v[i + 7] as number));
    a8 = f32(a8 + (v[i + 8] as number));
    a9 = f32(a9 + (v[i + 9] as number));
    a10 = f32(a10 + (v[i + 10] as number));
    a11 = f32(a11 + (v[i + 11] as number));
    a12 = f32(a12 + (v[i + 12] as number));
    a13 = f32(a13 + (v[i + 13] as number));
    a14 = f32(a14 + (v[i + 14] as number));
    a15 = f32(a15 + (v[i + 15] as number));
  }
  const p = oBase + k0;
  o[p] = a0;
  o[p + 1] = a1;
  o[p + 2] = a2;
  o[p + 3] = a3;
  o[p + 4] = a4;
  o[p + 5] = a5;
  o[p + 6] = a6;
  o[p + 7] = a7;
  o[p + 8] = a8;
  o[p + 9] = a9;
  o[p + 10] = a10;
  o[p + 11] = a11;
  o[p + 12] = a12;
  o[p + 13] = a13;
  o[p + 14] = a14;
  o[p + 15] = a15;
}

/** Columns k0 … k0 + 7 of {@link sumColumns}. */
function columns8(
  v: Float32Array,
  vBase: number,
  end: number,
  c: number,
  o: Float32Array,
  oBase: number,
  k0: number,
): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let a4 = 0;
  let a5 = 0;
  let a6 = 0;
  let a7 = 0;
  for (let i = vBase + k0; i < end; i += c) {
    a0 = f32(a0 + (v[i] as number));
    a1 = f32(a1 + (v[i + 1] as number));
    a2 = f32(a2 + (v[i + 2] as number));
    a3 = f32(a3 + (v[i + 3] as number));
    a4 = f32(a4 + (v[i + 4] as number));
    a5 = f32(a5 + (v[i + 5] as number));
    a6 = f32(a6 + (v[i + 6] as number));
    a7 = f32(a7 + (v[i + 7] as number));
  }
  const p = oBase + k0;
  o[p] = a0;
  o[p + 1] = a1;
  o[p + 2] = a2;
  o[p + 3] = a3;
  o[p + 4] = a4;
  o[p + 5] = a5;
  o[p + 6] = a6;
  o[p + 7] = a7;
}
