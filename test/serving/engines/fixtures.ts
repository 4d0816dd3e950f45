import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseProject } from '../../../src/config/load.js';
import type { ProjectInput } from '../../../src/config/schema.js';
import { type Column, makeTable, type Table } from '../../../src/data/table.js';
import { writeCustomerRiskLikeCsv } from '../../../src/quickstart/customer-risk-data.js';
import { quickstartProject } from '../../../src/quickstart/project.js';
import { trainProject } from '../../../src/training/train.js';
import { Random } from '../../../src/util/random.js';
import { textQuestions } from '../server/text-fixture.js';

/**
 * A temp folder whose metadata and artifact stores are the only places training writes to; the
 * repository stays untouched. `cleanup` restores the environment and removes the folder.
 */
export function trainingSandbox(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-engines-'));
  const saved = { meta: process.env.KILN_METADATA_URI, art: process.env.KILN_ARTIFACTS_URI };
  process.env.KILN_METADATA_URI = `sqlite://${path.join(dir, 'k.db')}`;
  process.env.KILN_ARTIFACTS_URI = `file://${path.join(dir, 'art')}`;
  return {
    dir,
    cleanup() {
      restore('KILN_METADATA_URI', saved.meta);
      restore('KILN_ARTIFACTS_URI', saved.art);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Trains a project in `dir` (search off, small bootstrap) and returns its package folder. */
export async function trainPackage(dir: string, input: ProjectInput): Promise<string> {
  const project = parseProject({ ...input, evaluation: { ...input.evaluation, bootstrap: 50 } });
  const result = await trainProject(
    { project, dir, configFile: path.join(dir, 'kiln.config.ts') },
    { noSearch: true },
  );
  if (!result.packageDir) throw new Error('training wrote no package');
  return result.packageDir;
}

/** The quickstart customer-risk project on 3,000 generated rows. */
export async function customerRiskPackage(dir: string): Promise<string> {
  const csv = path.join(dir, 'customers.csv');
  await writeCustomerRiskLikeCsv(csv, 3000, 7);
  return trainPackage(dir, {
    ...quickstartProject,
    data: { ...quickstartProject.data, source: { path: csv } },
  });
}

/** Scoring rows for the customer-risk package: missing values, unseen levels and extremes mixed in. */
export function customerRiskRows(n: number, seed: number): Table {
  const rng = new Random(seed);
  const deposits = new Float64Array(n);
  const withdrawals = new Float64Array(n);
  const stakes = new Float64Array(n);
  const product: (string | null)[] = [];
  const age: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    deposits[i] = rng.next() < 0.03 ? Number.NaN : Math.round(Math.max(0, 50 + 30 * rng.normal()));
    withdrawals[i] = rng.next() < 0.1 ? Number.NaN : Math.round(25 * Math.exp(0.6 * rng.normal()));
    stakes[i] = rng.next() < 0.02 ? 1e7 : Math.round(100 * Math.exp(0.7 * rng.normal()));
    product.push(oneOf(rng, ['bet', 'gaming', 'poker', null], [0.45, 0.45, 0.05, 0.05]));
    age.push(oneOf(rng, ['<30', '30-50', '50+', '90+', null], [0.45, 0.3, 0.15, 0.05, 0.05]));
  }
  return makeTable(
    Object.entries<Column>({
      deposits: { type: 'number', values: deposits },
      withdrawals: { type: 'number', values: withdrawals },
      stakes: { type: 'number', values: stakes },
      product: { type: 'category', values: product },
      age: { type: 'category', values: age },
    }),
  );
}

const COLORS = ['red', 'green', 'blue', 'yellow'];
const SIZES = ['S', 'M', 'L', 'XL'];
const REGIONS = ['north', 'south', 'east', 'west'];
const SHOPS = ['web', 'store', 'phone'];
const CLASSES = ['alpha', 'beta', 'gamma', 'delta'];

/**
 * A 4-class project exercising every step kind: impute (numeric, boolean, string constant), derive with
 * every function, one_hot with drop first / missing level / unseen error, ordinal, drop and scale.
 */
export const multiclassProject = (csv: string): ProjectInput => ({
  name: 'engines-multiclass',
  seed: 3,
  data: {
    source: { path: csv },
    schema: {
      x1: { type: 'number' },
      x2: { type: 'integer' },
      flag: { type: 'boolean' },
      color: { type: 'category' },
      size: { type: 'category' },
      region: { type: 'category' },
      shop: { type: 'category' },
      label: { type: 'category', nullable: false },
    },
  },
  target: { column: 'label' },
  split: { strategy: 'stratified', folds: 3 },
  features: [
    { step: 'derive', name: 'ratio', expr: 'x1 / (x2 - 50)' },
    { step: 'impute', columns: ['x1', 'ratio'], strategy: 'median' },
    { step: 'impute', columns: ['flag'], strategy: 'mode' },
    { step: 'impute', columns: ['shop'], strategy: 'constant', value: 'unknown' },
    {
      step: 'derive',
      name: 'mix',
      expr: 'max(x1, 3) - min(abs(x2 - 40), sqrt(x2), 30) + exp(-x2 / 50) + log(x2 + 1) - -flag + log1p(x2)',
    },
    { step: 'ordinal', column: 'size', order: SIZES },
    { step: 'impute', columns: ['size'], strategy: 'median' },
    { step: 'one_hot', columns: ['color'], drop: 'first' },
    { step: 'one_hot', columns: ['region'], unseen: 'error', missing: 'ignore' },
    { step: 'one_hot', columns: ['shop'] },
    { step: 'drop', columns: ['x2'] },
    { step: 'scale', columns: ['x1', 'ratio', 'mix', 'size'] },
  ],
  model: { family: 'logistic_regression', params: { C: 0.5 } },
  evaluation: { headline: 'accuracy' },
});

export async function multiclassPackage(dir: string): Promise<string> {
  const csv = path.join(dir, 'multiclass.csv');
  const rng = new Random(11);
  const lines = ['x1,x2,flag,color,size,region,shop,label'];
  for (let i = 0; i < 2500; i++) {
    const x1 = 5 + 3 * rng.normal();
    const x2 = rng.int(101);
    const flag = rng.next() < 0.4;
    const color = COLORS[rng.int(4)];
    const size = rng.int(4);
    const region = REGIONS[rng.int(4)];
    const shop = SHOPS[rng.int(3)];
    const scores = [
      0.4 * x1 - 0.02 * x2 + (color === 'red' ? 1 : 0),
      -0.3 * x1 + (flag ? 1.2 : 0) + 0.3 * size,
      0.02 * x2 + (region === 'north' ? 1 : 0) - (color === 'blue' ? 0.8 : 0),
      0.5 * size - (shop === 'web' ? 0.7 : 0),
    ];
    const label = CLASSES[sampleSoftmax(rng, scores)];
    const na = (p: number, v: string) => (rng.next() < p ? 'NA' : v);
    lines.push(
      [
        na(0.08, x1.toFixed(3)),
        String(x2),
        na(0.05, String(flag)),
        na(0.06, color),
        na(0.05, SIZES[size]),
        na(0.04, region),
        na(0.07, shop),
        label,
      ].join(','),
    );
  }
  writeFileSync(csv, `${lines.join('\n')}\n`);
  return trainPackage(dir, multiclassProject(csv));
}

/** Scoring rows for the multiclass package, with every kind of missing, unseen and degenerate value. */
export function multiclassRows(n: number, seed: number): Table {
  const rng = new Random(seed);
  const x1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const flag = new Float64Array(n);
  const color: (string | null)[] = [];
  const size: (string | null)[] = [];
  const region: (string | null)[] = [];
  const shop: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    x1[i] = rng.next() < 0.08 ? Number.NaN : 5 + 3 * rng.normal();
    // 50 divides by zero; -40000 overflows exp() in `mix`, so its row is refused.
    x2[i] =
      rng.next() < 0.03 ? 50 : rng.next() < 0.01 ? -40000 : rng.next() < 0.02 ? Number.NaN : rng.int(101);
    flag[i] = rng.next() < 0.05 ? Number.NaN : rng.next() < 0.4 ? 1 : 0;
    color.push(oneOf(rng, [...COLORS, 'purple', null], [0.22, 0.22, 0.22, 0.22, 0.06, 0.06]));
    size.push(oneOf(rng, [...SIZES, 'XXL', null], [0.22, 0.22, 0.22, 0.22, 0.06, 0.06]));
    region.push(oneOf(rng, [...REGIONS, 'central', null], [0.23, 0.23, 0.23, 0.23, 0.04, 0.04]));
    shop.push(oneOf(rng, [...SHOPS, 'kiosk', null], [0.3, 0.3, 0.28, 0.06, 0.06]));
  }
  return makeTable(
    Object.entries<Column>({
      x1: { type: 'number', values: x1 },
      x2: { type: 'integer', values: x2 },
      flag: { type: 'boolean', values: flag },
      color: { type: 'category', values: color },
      size: { type: 'category', values: size },
      region: { type: 'category', values: region },
      shop: { type: 'category', values: shop },
    }),
  );
}

function oneOf<T>(rng: Random, values: readonly T[], weights: readonly number[]): T {
  let u = rng.next();
  for (let i = 0; i < values.length; i++) {
    u -= weights[i];
    if (u < 0) return values[i];
  }
  return values[values.length - 1];
}

function sampleSoftmax(rng: Random, scores: readonly number[]): number {
  const max = Math.max(...scores);
  const weights = scores.map((s) => Math.exp(s - max));
  const total = weights.reduce((a, b) => a + b, 0);
  return oneOf(
    rng,
    scores.map((_, k) => k),
    weights.map((w) => w / total),
  );
}

/** Largest |a - b| where both are numbers; throws if NaN appears in one and not the other. */
export function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i]))
      throw new Error(`NaN mismatch at ${i}: ${a[i]} vs ${b[i]}`);
    if (!Number.isNaN(a[i])) max = Math.max(max, Math.abs(a[i] - b[i]));
  }
  return max;
}

export function nanRows(proba: Float64Array, k: number): number {
  let count = 0;
  for (let i = 0; i < proba.length; i += k) if (Number.isNaN(proba[i])) count++;
  return count;
}

const REGRESSION_REGIONS = ['north', 'south', 'east'];

/**
 * A ridge regression project: y linear in two numbers and a region; x1 has gaps (imputed), and the
 * derived ratio is missing where x2 = 5, so those rows are refused.
 */
export async function regressionPackage(dir: string): Promise<string> {
  const csv = path.join(dir, 'prices.csv');
  const rng = new Random(21);
  const lines = ['x1,x2,region,y'];
  for (let i = 0; i < 800; i++) {
    const x1 = 10 * rng.next();
    const x2 = rng.int(11);
    const region = REGRESSION_REGIONS[rng.int(3)];
    const y = 10 + 3 * x1 - 2 * x2 + (region === 'south' ? 4 : 0) + 0.5 * rng.normal();
    lines.push([rng.next() < 0.05 ? 'NA' : x1.toFixed(4), x2 === 5 ? 6 : x2, region, y.toFixed(4)].join(','));
  }
  writeFileSync(csv, `${lines.join('\n')}\n`);
  return trainPackage(dir, {
    name: 'engines-regression',
    seed: 0,
    data: {
      source: { path: csv },
      schema: {
        x1: { type: 'number' },
        x2: { type: 'number' },
        region: { type: 'category' },
        y: { type: 'number', nullable: false },
      },
    },
    target: { column: 'y' },
    split: { strategy: 'random', folds: 3 },
    features: [
      { step: 'impute', columns: ['x1'], strategy: 'median' },
      { step: 'derive', name: 'ratio', expr: 'x1 / (x2 - 5)' },
      { step: 'one_hot', columns: ['region'] },
      { step: 'scale', columns: ['x1', 'x2', 'ratio'] },
    ],
    model: { family: 'ridge', params: { alpha: 1 } },
    evaluation: { headline: 'rmse' },
  });
}

/** Scoring rows for the regression package: gaps, x2 = 5 (refused), unseen and missing regions. */
export function regressionRows(n: number, seed: number): Table {
  const rng = new Random(seed);
  const x1 = Float64Array.from({ length: n }, () => (rng.next() < 0.05 ? Number.NaN : 10 * rng.next()));
  const x2 = Float64Array.from({ length: n }, () => rng.int(11));
  const region = Array.from({ length: n }, () =>
    oneOf(rng, [...REGRESSION_REGIONS, 'west', null], [0.3, 0.3, 0.3, 0.05, 0.05]),
  );
  return makeTable(
    Object.entries<Column>({
      x1: { type: 'number', values: x1 },
      x2: { type: 'number', values: x2 },
      region: { type: 'category', values: region },
    }),
  );
}

/**
 * A text project as posos' (TF-IDF words 1-2 and char_wb 2-4, accents stripped, sublinear tf), with a
 * Platt-calibrated linear SVM: four intents, or two with `binary`.
 */
export async function textSvmPackage(dir: string, options: { binary?: boolean } = {}): Promise<string> {
  const name = options.binary ? 'svm-binary' : 'svm-intents';
  const csv = path.join(dir, `${name}.csv`);
  const keep = options.binary ? new Set(['posologie', 'effets']) : undefined;
  const rows = textQuestions(700, 5).filter((r) => !keep || keep.has(r.intent));
  const cell = (text: string) => `"${text.replaceAll('"', '""')}"`;
  writeFileSync(csv, `question,intent\n${rows.map((r) => `${cell(r.question)},${r.intent}`).join('\n')}\n`);
  return trainPackage(dir, {
    name,
    seed: 0,
    data: {
      source: { path: csv },
      schema: { question: { type: 'text', nullable: false }, intent: { type: 'category', nullable: false } },
    },
    target: { column: 'intent' },
    split: { strategy: 'stratified', folds: 3 },
    features: [
      {
        step: 'tfidf',
        column: 'question',
        analyzer: 'word',
        ngramRange: [1, 2],
        stripAccents: true,
        sublinearTf: true,
      },
      {
        step: 'tfidf',
        column: 'question',
        analyzer: 'char_wb',
        ngramRange: [2, 4],
        stripAccents: true,
        sublinearTf: true,
      },
    ],
    model: { family: 'linear_svm', params: { C: 0.5, calibration: 'sigmoid' } },
    evaluation: { headline: options.binary ? 'roc_auc' : 'f1_macro' },
    registry: { register: 'never' },
  });
}

/** Questions to score: the generator's, plus empty, missing, unseen, accented and emoji texts. */
export function textRows(n: number, seed: number): Table {
  const texts: (string | null)[] = textQuestions(n, seed).map((r) => r.question);
  texts.push(
    '',
    null,
    'zzz qwerty',
    'ÉFFETS SECONDAIRES du Doliprane ?',
    'dose 💊 par jour',
    "l'enfant  et l'alcool",
  );
  return makeTable([['question', { type: 'text', values: texts }]]);
}
