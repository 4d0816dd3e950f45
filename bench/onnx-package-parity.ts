/**
 * A model package scored by both engines on a data file: the JS engine (frozen pipeline + model in
 * TypeScript) and the ONNX engine (the package's model.onnx, or a graph exported in memory, in
 * onnxruntime-node with one intra-op thread, as `kiln serve --engine onnx` runs it).
 *
 *   npx tsx bench/onnx-package-parity.ts <package dir> <input file>
 *   npx tsx bench/onnx-package-parity.ts .kiln/runs/<run id>/package ../shared/datasets/intent-posos/input_train.csv
 *
 * The file is read as `kiln predict` reads it (the package's reading options and signature; rows the
 * schema refuses are left out and counted). Prints the largest |ONNX − JS| over every score of every
 * row (NaN = NaN: rows both engines refuse), the count compared, and the time per row of each engine's
 * `score` at batch 1 (the first 300 rows) and batch 100 (every row), the best of 3 passes. Writes
 * nothing but a rejects file in the temp folder when the schema refuses rows.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ColumnSpec } from '../src/config/schema.js';
import { loadTable } from '../src/data/load.js';
import { type Table, takeRows } from '../src/data/table.js';
import { loadPackage } from '../src/packaging/load.js';
import { ONNX_FILE } from '../src/packaging/onnx.js';
import type { Engine } from '../src/scoring/engine.js';
import { createEngine } from '../src/scoring/engines/index.js';

const [packageDir, input] = process.argv.slice(2);
if (!packageDir || !input) {
  console.error('usage: npx tsx bench/onnx-package-parity.ts <package dir> <input file>');
  process.exit(2);
}

const model = loadPackage(packageDir);
const scratch = mkdtempSync(path.join(tmpdir(), 'kiln-onnx-parity-'));
const schema: Record<string, ColumnSpec> = {};
for (const { name, ...spec } of model.manifest.signature.inputs) schema[name] = spec;
const { table, report } = await loadTable(
  {
    source: { ...model.manifest.reading, path: path.resolve(input) },
    schema,
    onInvalid: 'quarantine',
    extraColumns: 'ignore',
  },
  { baseDir: process.cwd(), rejectsPath: path.join(scratch, 'rejects.csv') },
);
rmSync(scratch, { recursive: true, force: true });

const graphFile = model.manifest.model.onnx ? path.join(model.dir, model.manifest.model.onnx) : undefined;
const started = performance.now();
const js = await createEngine(model, 'js');
const onnx = await createEngine(model, 'onnx');
const loaded = performance.now();
const width = model.task.width(model.output);
console.log(
  `${model.manifest.name} (${model.manifest.task}, ${model.manifest.model.family}, ${model.manifest.featureNames.length} features): ${table.nRows} rows of ${report.rowsRead} read from ${path.basename(input)}`,
);
console.log(
  `ONNX graph: ${graphFile ? `${ONNX_FILE}, ${(statSync(graphFile).size / 1e6).toFixed(1)} MB` : 'exported in memory (the package has none)'}; engines ready in ${((loaded - started) / 1000).toFixed(1)} s`,
);

// Parity over every row, in batches of 100.
let max = 0;
let worst = -1;
let compared = 0;
let refused = 0;
for (let start = 0; start < table.nRows; start += 100) {
  const batch = slice(table, start, Math.min(table.nRows, start + 100));
  const [a, b] = await Promise.all([js.score(batch), onnx.score(batch)]);
  for (let q = 0; q < a.scores.length; q++) {
    const x = a.scores[q];
    const y = b.scores[q];
    if (Number.isNaN(x) !== Number.isNaN(y))
      throw new Error(
        `row ${start + Math.floor(q / width)}: js ${x}, onnx ${y} (refused by one engine only)`,
      );
    if (Number.isNaN(x)) continue;
    compared++;
    const d = Math.abs(x - y);
    if (d > max) {
      max = d;
      worst = start + Math.floor(q / width);
    }
  }
  refused += a.rowErrors.size;
}
console.log(
  `max |onnx - js| = ${max.toExponential(2)} over ${compared.toLocaleString()} scores (${table.nRows - refused} rows x ${width}${refused ? `; ${refused} rows refused by both` : ''})${worst >= 0 ? `, worst row ${worst}` : ''}`,
);

const time = async (engine: Engine, batchSize: number, limit: number) => {
  const n = Math.min(limit, table.nRows);
  const batches: Table[] = [];
  for (let start = 0; start < n; start += batchSize)
    batches.push(slice(table, start, Math.min(n, start + batchSize)));
  await engine.score(batches[0]); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 3; pass++) {
    const t0 = performance.now();
    for (const batch of batches) await engine.score(batch);
    best = Math.min(best, ((performance.now() - t0) * 1000) / n);
  }
  return best;
};
for (const [batchSize, limit] of [
  [1, 300],
  [100, table.nRows],
] as const) {
  const tj = await time(js, batchSize, limit);
  const to = await time(onnx, batchSize, limit);
  console.log(
    `per row, batch ${String(batchSize).padEnd(3)}: js ${tj.toFixed(1)} µs, onnx ${to.toFixed(1)} µs (onnx / js ${(to / tj).toFixed(1)}x)`,
  );
}
await Promise.all([js.release(), onnx.release()]);

function slice(t: Table, from: number, to: number): Table {
  return takeRows(
    t,
    Array.from({ length: to - from }, (_, i) => from + i),
  );
}
