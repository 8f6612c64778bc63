import { RelkdError } from '@relkd/core';
import { BACKENDS, expectClose, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { tap } from './tap';

function seqModel(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [6], units: 5, activation: 'relu', name: 'h1' }),
      tfl.layers.dense({ units: 4, activation: 'relu', name: 'h2' }),
      tfl.layers.dense({ units: 3, name: 'logits' }),
    ],
  });
}

function functionalModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [6] });
  const a = tfl.layers
    .dense({ units: 5, activation: 'relu', name: 'fa' })
    .apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers
    .dense({ units: 5, activation: 'tanh', name: 'fb' })
    .apply(input) as tfl.SymbolicTensor;
  const c = tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, name: 'fout' }).apply(c) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

describe.each(BACKENDS)('tap on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('returns logits and features of a Sequential model with one forward pass', () => {
    const m = seqModel();
    const t = tap(m, { features: ['h1', 'h2'] });
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 1);
    const out = t(x);
    expect(out.logits.shape).toEqual([4, 3]);
    expect(out.features.h1!.shape).toEqual([4, 5]);
    expect(out.features.h2!.shape).toEqual([4, 4]);
    expectClose(out.logits, m.predict(x) as tf.Tensor);
    const h1 = tfl.model({
      inputs: m.inputs,
      outputs: m.getLayer('h1').output as tfl.SymbolicTensor,
    });
    expectClose(out.features.h1!, h1.predict(x) as tf.Tensor);
    expect(t.model.outputs.length).toBe(3);
    tf.dispose([x, out.logits, ...Object.values(out.features)]);
  });

  it('works for functional models and explicit logits layers', () => {
    const m = functionalModel();
    const t = tap(m, { features: ['sum', 'fa'], logits: 'fout' });
    const x = tf.randomNormal([3, 6], 0, 1, 'float32', 2);
    const out = t(x);
    expectClose(out.logits, m.predict(x) as tf.Tensor);
    expect(out.features.sum!.shape).toEqual([3, 5]);
    tf.dispose([x, out.logits, ...Object.values(out.features)]);
  });

  it('taps layers inside nested models (path and bare name)', () => {
    const inner = tfl.sequential({
      name: 'backbone',
      layers: [
        tfl.layers.dense({ inputShape: [6], units: 5, activation: 'relu', name: 'b1' }),
        tfl.layers.dense({ units: 4, activation: 'relu', name: 'b2' }),
      ],
    });
    const outer = tfl.sequential({ layers: [inner, tfl.layers.dense({ units: 3, name: 'head' })] });
    const x = tf.randomNormal([2, 6], 0, 1, 'float32', 3);
    const t = tap(outer, { features: ['backbone/b1', 'b2'] });
    const out = t(x);
    expectClose(out.logits, outer.predict(x) as tf.Tensor);
    const b1 = tfl.model({
      inputs: inner.inputs,
      outputs: inner.getLayer('b1').getOutputAt(0) as tfl.SymbolicTensor,
    });
    expectClose(out.features['backbone/b1']!, b1.predict(x) as tf.Tensor);
    expectClose(out.features.b2!, inner.predict(x) as tf.Tensor);
    tf.dispose([x, out.logits, ...Object.values(out.features)]);
  });

  it('taps inside a nested model used in a functional graph with a skip connection', () => {
    const inner = tfl.sequential({
      name: 'blockN',
      layers: [
        tfl.layers.dense({ inputShape: [5], units: 5, activation: 'relu', name: 'n1' }),
        tfl.layers.dense({ units: 5, name: 'n2' }),
      ],
    });
    const input = tfl.input({ shape: [6] });
    const h = tfl.layers.dense({ units: 5, name: 'pre' }).apply(input) as tfl.SymbolicTensor;
    const r = inner.apply(h) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'skip' }).apply([h, r]) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, name: 'head2' }).apply(sum) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: out });
    const t = tap(m, { features: ['blockN/n1', 'skip'] });
    const x = tf.randomNormal([3, 6], 0, 1, 'float32', 6);
    const o = t(x);
    expectClose(o.logits, m.predict(x) as tf.Tensor);
    const pre = tfl.model({ inputs: input, outputs: h });
    const n1 = tfl.model({
      inputs: inner.inputs,
      outputs: inner.getLayer('n1').getOutputAt(0) as tfl.SymbolicTensor,
    });
    const expected = n1.predict(pre.predict(x) as tf.Tensor) as tf.Tensor;
    expectClose(o.features['blockN/n1']!, expected);
    expect(o.features.skip!.shape).toEqual([3, 5]);
    tf.dispose([x, o.logits, ...Object.values(o.features)]);
  });

  it('works on a model loaded with tf.loadLayersModel', async () => {
    const m = seqModel();
    let saved: tf.io.ModelArtifacts | undefined;
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const t = tap(loaded, { features: ['h2'] });
    const x = tf.randomNormal([2, 6], 0, 1, 'float32', 4);
    const out = t(x);
    expectClose(out.logits, m.predict(x) as tf.Tensor);
    tf.dispose([x, out.logits, ...Object.values(out.features)]);
  });

  it('returns log-probabilities for a softmax output (logits up to a row shift)', () => {
    const m = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [4], units: 3, activation: 'softmax', name: 'p' })],
    });
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 5);
    const out = t0(m)(x);
    expectClose(tf.softmax(out.logits), m.predict(x) as tf.Tensor);
    expect(() => tap(m, { softmax: 'error' })).toThrow(RelkdError);
    tf.dispose([x, out.logits]);
  });

  it('unknown layer names throw INVALID_OPTION listing the layer names', () => {
    const m = seqModel();
    try {
      tap(m, { features: ['nope'] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RelkdError);
      expect((e as RelkdError).code).toBe('INVALID_OPTION');
      expect((e as RelkdError).message).toContain('h1, h2, logits');
    }
    expect(() => tap(m, { logits: 'missing' })).toThrow(/h1, h2, logits/);
  });
});

function t0(m: tfl.LayersModel) {
  return tap(m);
}
