/**
 * Training speed and quality of the sparse linear families on intent-sized data, side by side with
 * scikit-learn (bench/peers/intent_svm_sklearn.py) on the same matrix and the same 5 stratified folds.
 *
 *   npx tsx bench/intent-svm.ts synthetic   # seeded CSR 8,028 x 100,000, ~350 nonzeros a row, posos class sizes
 *   npx tsx bench/intent-svm.ts posos       # scikit-learn's TF-IDF (word 1-2 + char_wb 2-5) of posos, exported
 *   npx tsx bench/intent-svm.ts posos svm LinearSVC   # one Kiln contender, one scikit-learn contender
 *
 * The matrix, labels and folds go to a folder as raw little-endian arrays (indptr/indices int32, data
 * float64, y and fold int32) that numpy reads with fromfile. Times cover fold slicing and fitting only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CsrMatrix, takeMatrixRows } from '../src/data/matrix.js';
import type { FittedModel } from '../src/models/family.js';
import { linearSvm, linearSvmParams, stratifiedFolds } from '../src/models/linear-svm.js';
import { logisticRegression, logisticRegressionParams } from '../src/models/logistic-regression.js';
import { Random } from '../src/util/random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const mode = process.argv[2] ?? 'synthetic';
const only = process.argv[3];
const dir = path.join('/tmp', `kiln-intent-bench-${mode}`);

/** Rows per intent in posos' training file (8,028 rows, 51 intents). */
const POSOS_COUNTS = [
  1796, 565, 560, 461, 387, 382, 321, 317, 315, 208, 204, 195, 180, 144, 134, 126, 120, 119, 104, 102, 91, 89,
  82, 77, 76, 72, 68, 64, 54, 52, 50, 50, 45, 45, 40, 33, 30, 26, 25, 23, 23, 23, 22, 22, 20, 20, 19, 17, 15,
  8, 7,
];

interface Data {
  X: CsrMatrix;
  y: Int32Array;
  fold: Int32Array;
  classes: string[];
}

/**
 * TF-IDF-like rows: `perRow` draws per row, each from the row's topic vocabulary (300 features) with
 * probability `signal`, else from a Zipf(1) background over every feature; the topic is the row's class
 * except for a fraction `noise` of rows, which take another class's topic (so the classes overlap as
 * real intents do). Values (1 + log tf) * idf, rows L2-normalised.
 */
function synthetic(
  rows: number,
  cols: number,
  perRow: number,
  signal: number,
  noise: number,
  seed: number,
): Data {
  const rng = new Random(seed);
  const total = POSOS_COUNTS.reduce((a, b) => a + b, 0);
  const y = new Int32Array(rows);
  let r = 0;
  POSOS_COUNTS.forEach((count, c) => {
    const m = c === POSOS_COUNTS.length - 1 ? rows - r : Math.round((count * rows) / total);
    for (let t = 0; t < m; t++) y[r++] = c;
  });
  rng.shuffle(y);
  const cdf = new Float64Array(cols);
  let acc = 0;
  for (let j = 0; j < cols; j++) cdf[j] = acc += 1 / (j + 10);
  const zipf = () => {
    const u = rng.next() * acc;
    let lo = 0;
    let hi = cols - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const vocab = POSOS_COUNTS.map(() => Int32Array.from({ length: 300 }, () => 50 + rng.int(cols - 50)));
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const tf: number[] = [];
  const draws = new Int32Array(perRow);
  for (let i = 0; i < rows; i++) {
    const topic = vocab[rng.next() < noise ? rng.int(vocab.length) : y[i]];
    for (let t = 0; t < perRow; t++) draws[t] = rng.next() < signal ? topic[rng.int(300)] : zipf();
    draws.sort();
    for (let t = 0; t < perRow; ) {
      let u = t;
      while (u < perRow && draws[u] === draws[t]) u++;
      idx.push(draws[t]);
      tf.push(u - t);
      t = u;
    }
    indptr[i + 1] = idx.length;
  }
  const df = new Float64Array(cols);
  for (const j of idx) df[j]++;
  const data = new Float64Array(idx.length);
  for (let i = 0; i < rows; i++) {
    let norm = 0;
    for (let q = indptr[i]; q < indptr[i + 1]; q++) {
      data[q] = (1 + Math.log(tf[q])) * (Math.log((1 + rows) / (1 + df[idx[q]])) + 1);
      norm += data[q] * data[q];
    }
    norm = Math.sqrt(norm);
    for (let q = indptr[i]; q < indptr[i + 1]; q++) data[q] /= norm;
  }
  const X: CsrMatrix = { kind: 'csr', rows, cols, indptr, indices: Int32Array.from(idx), data };
  return {
    X,
    y,
    fold: stratifiedFolds(y, POSOS_COUNTS.length, 5, new Random(0)),
    classes: POSOS_COUNTS.map((_, c) => `${c}`),
  };
}

function write(data: Data): void {
  mkdirSync(dir, { recursive: true });
  const { X } = data;
  writeFileSync(
    path.join(dir, 'meta.json'),
    JSON.stringify({ rows: X.rows, cols: X.cols, classes: data.classes }),
  );
  const raw = (a: Int32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path.join(dir, 'indptr.i32'), raw(X.indptr));
  writeFileSync(path.join(dir, 'indices.i32'), raw(X.indices));
  writeFileSync(path.join(dir, 'data.f64'), raw(X.data));
  writeFileSync(path.join(dir, 'y.i32'), raw(data.y));
  writeFileSync(path.join(dir, 'fold.i32'), raw(data.fold));
}

function read(): Data {
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  const i32 = (name: string) => {
    const b = readFileSync(path.join(dir, name));
    return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const b = readFileSync(path.join(dir, 'data.f64'));
  const data = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const X: CsrMatrix = {
    kind: 'csr',
    rows: meta.rows,
    cols: meta.cols,
    indptr: i32('indptr.i32'),
    indices: i32('indices.i32'),
    data,
  };
  return { X, y: i32('y.i32'), fold: i32('fold.i32'), classes: meta.classes };
}

function scores(y: Int32Array, pred: Int32Array, k: number): { accuracy: number; macroF1: number } {
  const tp = new Float64Array(k);
  const fp = new Float64Array(k);
  const fn = new Float64Array(k);
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === pred[i]) {
      correct++;
      tp[y[i]]++;
    } else {
      fp[pred[i]]++;
      fn[y[i]]++;
    }
  }
  let f1 = 0;
  for (let c = 0; c < k; c++) f1 += tp[c] + fp[c] + fn[c] > 0 ? (2 * tp[c]) / (2 * tp[c] + fp[c] + fn[c]) : 0;
  return { accuracy: correct / y.length, macroF1: f1 / k };
}

async function crossValidate(data: Data, fitModel: (X: CsrMatrix, y: Int32Array) => Promise<FittedModel>) {
  const { X, y, fold, classes } = data;
  const k = classes.length;
  const pred = new Int32Array(y.length);
  let seconds = 0;
  let cpuSeconds = 0;
  const diagnostics: Record<string, unknown>[] = [];
  for (let f = 0; f < 5; f++) {
    const train: number[] = [];
    const valid: number[] = [];
    for (let i = 0; i < fold.length; i++) (fold[i] === f ? valid : train).push(i);
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const model = await fitModel(
      takeMatrixRows(X, train) as CsrMatrix,
      Int32Array.from(train, (i) => y[i]),
    );
    seconds += Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    cpuSeconds += (used.user + used.system) / 1e6;
    diagnostics.push(model.diagnostics());
    const proba = await model.predict(takeMatrixRows(X, valid));
    valid.forEach((i, r) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (proba[r * k + c] > proba[r * k + best]) best = c;
      pred[i] = best;
    });
  }
  return { seconds, cpuSeconds, ...scores(y, pred, k), diagnostics };
}

if (mode === 'posos') {
  const posos = path.resolve(here, '..', '..', 'shared', 'datasets', 'intent-posos');
  if (!existsSync(path.join(dir, 'meta.json'))) {
    execFileSync(
      '/usr/bin/python3',
      [path.join(here, 'peers', 'intent_svm_sklearn.py'), 'export', posos, dir],
      {
        stdio: 'inherit',
      },
    );
  }
  if (!existsSync(path.join(dir, 'fold.i32'))) {
    const b = readFileSync(path.join(dir, 'y.i32'));
    const y = new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    writeFileSync(path.join(dir, 'fold.i32'), Buffer.from(stratifiedFolds(y, 51, 5, new Random(0)).buffer));
  }
} else if (!existsSync(path.join(dir, 'meta.json'))) {
  write(synthetic(8028, 100_000, 400, 0.05, 0.25, 1));
}
const data = read();
console.log(
  `${mode}: ${data.X.rows} x ${data.X.cols}, ${(data.X.data.length / data.X.rows).toFixed(0)} nonzeros a row, ${data.classes.length} classes`,
);

const contenders: Record<string, (X: CsrMatrix, y: Int32Array) => Promise<FittedModel>> = {
  svm: (X, y) =>
    linearSvm.fit(X, y, {
      params: linearSvmParams.parse({ calibration: 'none' }),
      task: 'multiclass',
      classes: data.classes,
      seed: 0,
    }),
  'svm+sigmoid': (X, y) =>
    linearSvm.fit(X, y, {
      params: linearSvmParams.parse({}),
      task: 'multiclass',
      classes: data.classes,
      seed: 0,
    }),
  'svm balanced': (X, y) =>
    linearSvm.fit(X, y, {
      params: linearSvmParams.parse({ calibration: 'none', classWeight: 'balanced' }),
      task: 'multiclass',
      classes: data.classes,
      seed: 0,
    }),
  'svm balanced+sigmoid': (X, y) =>
    linearSvm.fit(X, y, {
      params: linearSvmParams.parse({ classWeight: 'balanced' }),
      task: 'multiclass',
      classes: data.classes,
      seed: 0,
    }),
  lr: (X, y) =>
    logisticRegression.fit(X, y, {
      params: logisticRegressionParams.parse({ C: 10, tol: 1e-4 }),
      task: 'multiclass',
      classes: data.classes,
      seed: 0,
    }),
};

for (const [name, fitModel] of Object.entries(contenders)) {
  if (only && name !== only) continue;
  const r = await crossValidate(data, fitModel);
  const iterations = r.diagnostics.map((d) => d.iterations).join(',');
  console.log(
    `kiln ${name.padEnd(24)} ${r.seconds.toFixed(2)} s (cpu ${r.cpuSeconds.toFixed(2)} s)  accuracy ${r.accuracy.toFixed(4)}  macro-F1 ${r.macroF1.toFixed(4)}  iterations ${iterations}`,
  );
}
const peer = process.argv[4] ?? (only ? undefined : 'all');
if (peer) {
  execFileSync(
    '/usr/bin/python3',
    ['-W', 'ignore', path.join(here, 'peers', 'intent_svm_sklearn.py'), 'fit', dir, peer],
    { stdio: 'inherit' },
  );
}
