import { Distiller } from '@relkd/layers';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { armById, configFor } from './arms';
import { buildStudent, MNIST_SHAPE } from './models';
import { loadTuned } from './tuning';

/**
 * End to end for @relkd/backend's `RelkdSelectRows` kernel pair (CORSD's pair rows): the CORSD
 * arm exactly as the MNIST benchmark builds it (tuned configuration, 3-stage student, the
 * Distiller's default optimizer) trained for a few steps with the kernels registered and again,
 * from the same seeds, with them unregistered (the one-hot matrix product) ends with bit-identical
 * weights: the student's and the relation networks'. On wasm at the benchmark's shapes (28 x 28
 * digits, 10 classes, batch 64); on cpu, whose JavaScript kernels take ~9 s per such step, on
 * 12 x 12 images of 3 classes (the shapes of the arms' other tests), batch 15 (so the pair batch,
 * 4 x 15 rows, spans two of the cpu matrix product's blocks of 48).
 */
const KERNELS = ['RelkdSelectRows', 'RelkdSelectRowsGrad'] as const;

const CASES = [
  { backend: 'wasm', shape: MNIST_SHAPE, batch: 64, steps: 3 },
  { backend: 'cpu', shape: { height: 12, width: 12, numClasses: 3 }, batch: 15, steps: 2 },
] as const;
expect(CASES.map((c) => c.backend).sort()).toEqual([...BACKENDS].sort());

type Shape = (typeof CASES)[number]['shape'];

/** Every updated variable after `steps` CORSD steps, as float32 bit patterns. */
function train(shape: Shape, steps: number, x: tf.Tensor4D, y: tf.Tensor1D): Uint32Array[] {
  const arm = armById('corsd');
  const { configs } = loadTuned();
  const student = buildStudent(31, '3stage', shape);
  const parts = arm.build({
    student,
    teacher: undefined,
    numClasses: shape.numClasses,
    config: configFor(arm, configs),
    seed: 31,
  });
  const d = new Distiller({ student: student.model, seed: 31, ...parts });
  try {
    for (let i = 0; i < steps; i++) d.step(x, y);
    return d.varList().map((v) => new Uint32Array(new Float32Array(v.dataSync()).buffer));
  } finally {
    d.dispose();
    (parts as { dispose?: () => void }).dispose?.();
    student.model.dispose();
  }
}

describe.each(CASES)('CORSD arm with and without the select-rows kernels on $backend', ({
  backend,
  shape,
  batch,
  steps,
}) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it(`${steps} Distiller steps (batch ${batch}, ${shape.height} x ${shape.width}) give bit-identical weights`, () => {
    const x = tf.randomUniform(
      [batch, shape.height, shape.width, 1],
      0,
      1,
      'float32',
      5,
    ) as tf.Tensor4D;
    const y = tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % shape.numClasses),
      'int32',
    );
    const saved = KERNELS.map((name) => tf.getKernel(name, backend));
    expect(saved.every((k) => k !== undefined)).toBe(true);
    const fused = train(shape, steps, x, y);
    for (const name of KERNELS) tf.unregisterKernel(name, backend);
    let plain: Uint32Array[];
    try {
      plain = train(shape, steps, x, y);
    } finally {
      for (const config of saved) if (config !== undefined) tf.registerKernel(config);
    }
    expect(fused.length).toBe(plain.length);
    // the relation networks' variables are there too, not only the student's
    expect(fused.length).toBeGreaterThan(20);
    let differing = 0;
    let changed = 0;
    for (let v = 0; v < fused.length; v++) {
      const a = fused[v] as Uint32Array;
      const b = plain[v] as Uint32Array;
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differing++;
      changed += a.length;
    }
    expect(changed).toBeGreaterThan(0);
    expect(differing).toBe(0);
    tf.dispose([x, y]);
  }, 120_000);
});
