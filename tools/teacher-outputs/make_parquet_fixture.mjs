// Writes the Parquet test fixture of @relkd/teacher-outputs with DuckDB, an engine outside relkd.
// One-off (CI reads the committed files and never runs this). From the repository root:
//   npm install --prefix tools/teacher-outputs && node tools/teacher-outputs/make_parquet_fixture.mjs
// The same toy data as make_npy_fixture.py (rows r = 0 … 49, labels r % 10), computed in SQL:
//   logits[r, c] = r + c / 100   (FLOAT[10]),   stage[r, j] = -r - j / 1000   (FLOAT[12], [2, 2, 3] NHWC)
// Two shards split on a hash of the row (so rows are not in order inside or across shards), plus
// bad/double.parquet (logits as DOUBLE[10]) for the dtype test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const out = join('packages', 'teacher-outputs', 'fixtures', 'parquet');
mkdirSync(join(out, 'bad'), { recursive: true });
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const version = (await c.runAndReadAll('select version()')).getRows()[0][0];
await c.run(`
  create table t as
  select r::BIGINT as "index",
         list_transform(range(10), x -> (r + x / 100)::FLOAT)::FLOAT[10] as logits,
         list_transform(range(12), j -> (-r - j / 1000)::FLOAT)::FLOAT[12] as stage,
         hash(r * 2654435761) % 2 as part
  from range(50) s(r)`);
const shards = [];
for (const part of [0, 1]) {
  const file = `part-${part}.parquet`;
  await c.run(
    `copy (select "index", logits, stage from t where part = ${part} order by hash("index"))
     to '${join(out, file)}' (format parquet)`,
  );
  const rows = Number(
    (await c.runAndReadAll(`select count(*) from t where part = ${part}`)).getRows()[0][0],
  );
  shards.push({ rows, file });
}
await c.run(
  `copy (select "index", logits::DOUBLE[10] as logits, stage from t order by "index")
   to '${join(out, 'bad', 'double.parquet')}' (format parquet)`,
);
const manifest = {
  format: 'relkd-teacher-outputs',
  version: 1,
  // labelsHash of r % 10 for r = 0 … 49 (the same value make_npy_fixture.py computes in numpy).
  dataset: { name: 'toy-50', labelsHash: 'fnv1a32:2a631514' },
  rows: 50,
  outputs: {
    logits: { shape: [10], dtype: 'float32' },
    stage: { shape: [2, 2, 3], dtype: 'float32' },
  },
  shardFormat: 'parquet',
  shards,
  teacher: { writer: `DuckDB ${version}` },
};
writeFileSync(join(out, 'teacher.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`wrote ${out}: ${shards.map((s) => `${s.file} (${s.rows} rows)`).join(', ')}`);
