import { BACKENDS, usePlainBackend } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { crossEntropy } from '../losses/crossEntropy';
import { kdLoss } from '../losses/kdLoss';
import { klDivergence } from '../losses/klDivergence';
import { softCrossEntropy } from '../losses/softCrossEntropy';
import { emitWarning, type RelkdWarning, setWarningHandler } from './warnings';

describe.each(BACKENDS)("probability-like logits warn in validate: 'full' on %s", (backend) => {
  beforeAll(() => usePlainBackend(backend));
  afterEach(() => {
    setWarningHandler(undefined);
  });

  function collect(): RelkdWarning[] {
    const seen: RelkdWarning[] = [];
    setWarningHandler((w) => {
      seen.push(w);
    });
    return seen;
  }

  const probs = () =>
    tf.tensor2d([
      [0.7, 0.2, 0.1],
      [0.05, 0.05, 0.9],
    ]);
  const logits = () =>
    tf.tensor2d([
      [2, -1, 0.5],
      [0.1, 0.3, -2],
    ]);
  const labels = () => tf.tensor1d([0, 2], 'int32');

  it('crossEntropy, softCrossEntropy, kdLoss and klDivergence warn once per offending input', () => {
    const seen = collect();
    const [p, z, y] = [probs(), logits(), labels()];
    const q = tf.softmax(z);
    const before = tf.memory().numTensors;
    tf.dispose([
      crossEntropy(p, y, { validate: 'full' }),
      softCrossEntropy(p, q, { validate: 'full' }),
      kdLoss(z, p, { validate: 'full' }),
      klDivergence(p, z, { validate: 'full' }),
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.map((w) => w.code)).toEqual(Array(4).fill('PROBABILITY_LIKE_LOGITS'));
    expect(seen.map((w) => w.details)).toEqual([
      { who: 'crossEntropy', name: 'logits' },
      { who: 'softCrossEntropy', name: 'logits' },
      { who: 'kdLoss', name: 'teacherLogits' },
      { who: 'klDivergence', name: 'studentLogits' },
    ]);
    expect(seen[2]!.message).toMatch(/^\[relkd:PROBABILITY_LIKE_LOGITS\] kdLoss: `teacherLogits`/);
    tf.dispose([p, z, y, q]);
  });

  it("does not warn for logits, nor in the default 'shapes' mode (no read-back)", () => {
    const seen = collect();
    const [p, z, y] = [probs(), logits(), labels()];
    tf.dispose([
      crossEntropy(z, y, { validate: 'full' }),
      kdLoss(z, tf.mul(z, 2) as tf.Tensor2D, { validate: 'full' }),
      // targets of softCrossEntropy are distributions by design: no warning for them
      softCrossEntropy(z, p, { validate: 'full' }),
      crossEntropy(p, y),
      kdLoss(z, p),
      softCrossEntropy(p, p),
    ]);
    expect(seen).toEqual([]);
    // rows that sum to 1 but have a negative entry, or one class, are not probabilities
    const signed = tf.tensor2d([[1.5, -0.5]]);
    const one = tf.tensor2d([[1], [1]]);
    tf.dispose([
      crossEntropy(signed, [0], { validate: 'full' }),
      kdLoss(one, one, { validate: 'full' }),
    ]);
    expect(seen).toEqual([]);
    tf.dispose([p, z, y, signed, one]);
  });

  it('the default handler prints with console.warn once per call site', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const [p, y] = [probs(), labels()];
      for (let i = 0; i < 3; i++) tf.dispose(crossEntropy(p, y, { validate: 'full' }));
      // a site this test owns, so the count does not depend on other tests in the process
      emitWarning('PROBABILITY_LIKE_LOGITS', `test-site-${backend}`, 'first');
      emitWarning('PROBABILITY_LIKE_LOGITS', `test-site-${backend}`, 'second');
      const ours = warn.mock.calls.filter((c) => String(c[0]).includes('first'));
      expect(ours).toHaveLength(1);
      expect(warn.mock.calls.some((c) => String(c[0]).includes('second'))).toBe(false);
      const ce = warn.mock.calls.filter((c) => String(c[0]).includes('crossEntropy: `logits`'));
      expect(ce.length).toBeLessThanOrEqual(1);
      tf.dispose([p, y]);
    } finally {
      warn.mockRestore();
    }
  });

  it('setWarningHandler returns the previous handler', () => {
    const a = () => {};
    expect(setWarningHandler(a)).toBeUndefined();
    expect(setWarningHandler(undefined)).toBe(a);
  });
});

describe.each(BACKENDS)('out-of-range tensor labels on %s (documented trap)', (backend) => {
  beforeAll(() => usePlainBackend(backend));
  it("give a finite loss in 'shapes' mode and LABEL_OUT_OF_RANGE in 'full' mode", () => {
    const z = tf.tensor2d([
      [2, -1, 0.5],
      [0.1, 0.3, -2],
    ]);
    const bad = tf.tensor1d([0, 7], 'int32');
    const loss = crossEntropy(z, bad);
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    expect(() => crossEntropy(z, bad, { validate: 'full' })).toThrow(
      expect.objectContaining({ code: 'LABEL_OUT_OF_RANGE' }),
    );
    tf.dispose([z, bad, loss]);
  });
});
