// Speed of the WASM gradient kernels @relkd/backend adds, against the cpu backend's kernels.
// Run (after building): node packages/backend/scripts/bench-wasm-kernels.mjs   (single-threaded Node WASM)
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { useBackend } from '@relkd/backend';

const rand = (shape) => tf.randomUniform(shape, -1, 1, 'float32', 7);
const cases = [
  {
    name: 'Conv2DBackpropFilter x[8,16,16,8] f[3,3,8,16] stride 1 same',
    kernel: 'Conv2DBackpropFilter',
    inputs: () => ({ x: rand([8, 16, 16, 8]), dy: rand([8, 16, 16, 16]) }),
    attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 8, 16] },
  },
  {
    name: 'Conv2DBackpropFilter x[8,32,32,16] f[3,3,16,32] stride 2 same',
    kernel: 'Conv2DBackpropFilter',
    inputs: () => ({ x: rand([8, 32, 32, 16]), dy: rand([8, 16, 16, 32]) }),
    attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 16, 32] },
  },
  {
    name: 'DepthwiseConv2dNativeBackpropFilter x[8,16,16,8] f[3,3,8,1]',
    kernel: 'DepthwiseConv2dNativeBackpropFilter',
    inputs: () => ({ x: rand([8, 16, 16, 8]), dy: rand([8, 16, 16, 8]) }),
    attrs: { strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, 8, 1] },
  },
  {
    name: 'DepthwiseConv2dNativeBackpropInput dy[8,16,16,8] f[3,3,8,1]',
    kernel: 'DepthwiseConv2dNativeBackpropInput',
    inputs: () => ({ dy: rand([8, 16, 16, 8]), filter: rand([3, 3, 8, 1]) }),
    attrs: { strides: 1, pad: 'same', dilations: 1, inputShape: [8, 16, 16, 8] },
  },
  {
    name: 'UnsortedSegmentSum x[1024,32] into 200 segments',
    kernel: 'UnsortedSegmentSum',
    inputs: () => ({
      x: rand([1024, 32]),
      segmentIds: tf.tensor1d(
        Array.from({ length: 1024 }, (_, i) => (i * 7919) % 200),
        'int32',
      ),
    }),
    attrs: { numSegments: 200 },
  },
];

async function time(backend, c) {
  await useBackend(backend);
  const inputs = c.inputs();
  const run = () => tf.engine().runKernel(c.kernel, inputs, c.attrs).dataSync();
  for (let i = 0; i < 2; i++) run(); // warm-up
  tf.engine().startScope();
  const reps = backend === 'cpu' ? 3 : 20;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  const ms = (performance.now() - t0) / reps;
  tf.engine().endScope();
  tf.dispose(Object.values(inputs));
  return ms;
}

const info = await useBackend('wasm');
console.log(`wasm: simd=${info.simd} threads=${info.threads}; node ${process.version}`);
console.log('| kernel | cpu ms | wasm ms | speed-up |\n|---|---:|---:|---:|');
for (const c of cases) {
  const cpu = await time('cpu', c);
  const wasm = await time('wasm', c);
  console.log(
    `| ${c.name} | ${cpu.toFixed(2)} | ${wasm.toFixed(2)} | ${(cpu / wasm).toFixed(1)}x |`,
  );
}
