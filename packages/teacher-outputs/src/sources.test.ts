import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromFiles, fromUrl, TeacherOutputs } from './index';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const logitOf = (r: number, c: number) => Math.fround(r + c / 100);

/** The browser sources, exercised with Node's own `File` and `fetch` on the committed fixtures. */
describe('browser sources: fromFiles and fromUrl', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    server = createServer((req, res) => {
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
      try {
        const body = readFileSync(join(fixtures, name));
        res.writeHead(200).end(body);
      } catch {
        res.writeHead(404, 'Not Found').end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(['npy', 'parquet'])('fromFiles reads a picked %s directory', async (dir) => {
    const files = readdirSync(join(fixtures, dir))
      .filter((f) => f.includes('.'))
      .map((f) => new File([readFileSync(join(fixtures, dir, f))], f));
    const outputs = await TeacherOutputs.open(fromFiles(files));
    await outputs.check({ rows: 50, numClasses: 10 });
    const { logits, features } = await outputs.gather([7, 42]);
    expect(Array.from(await logits.data()).filter((_, j) => j % 10 === 5)).toEqual([
      logitOf(7, 5),
      logitOf(42, 5),
    ]);
    tf.dispose([logits, ...Object.values(features)]);
    const missing = await TeacherOutputs.open(
      fromFiles(files.filter((f) => !f.name.endsWith('-1.npy') && f.name !== 'part-1.parquet')),
    );
    await expect(missing.check()).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('fromUrl fetches the files over HTTP, one at a time; a 404 is IO_ERROR naming the URL', async () => {
    const outputs = await TeacherOutputs.open(fromUrl(`${base}parquet`));
    await outputs.check({ rows: 50 });
    const { logits, features } = await outputs.gather([0, 49]);
    expect((await logits.data())[10]).toBe(logitOf(49, 0));
    tf.dispose([logits, ...Object.values(features)]);
    let caught: unknown;
    try {
      await TeacherOutputs.open(fromUrl(`${base}nowhere/`));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RelkdError);
    expect((caught as RelkdError).code).toBe('IO_ERROR');
    expect((caught as Error).message).toContain(`${base}nowhere/teacher.json: HTTP 404`);
  });
});
