/**
 * Test packages for the server: the quickstart customer-risk pipeline trained on generated data in a
 * temporary folder (no search, small bootstrap: a few hundred milliseconds), plus helpers shared by the
 * server tests.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { parseProject } from '../../../src/config/load.js';
import type { ProjectInput } from '../../../src/config/schema.js';
import type { Column, Table } from '../../../src/data/table.js';
import type {
  FeedbackRecord,
  PredictionLog,
  PredictionLogStats,
  PredictionRecord,
} from '../../../src/monitoring/prediction-log/log.js';
import { writeCustomerRiskLikeCsv } from '../../../src/quickstart/customer-risk-data.js';
import { quickstartProject } from '../../../src/quickstart/project.js';
import { trainProject } from '../../../src/training/train.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-serve-'));
  dirs.push(dir);
  return dir;
}

export const MODEL = 'quickstart-customer-risk';

/** Trains the quickstart project (with `overrides`) on 2,000 generated rows; returns the package folder. */
export async function trainPackage(overrides: Partial<ProjectInput> = {}, dataSeed = 0): Promise<string> {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'data'));
  await writeCustomerRiskLikeCsv(path.join(dir, 'data', 'customers.csv'), 2_000, dataSeed);
  process.env.KILN_METADATA_URI = `sqlite://${path.join(dir, 'kiln.db')}`;
  process.env.KILN_ARTIFACTS_URI = `file://${path.join(dir, 'artifacts')}`;
  try {
    const { search: _search, ...model } = quickstartProject.model;
    const project = parseProject({
      ...quickstartProject,
      model,
      evaluation: { headline: 'roc_auc', threshold: { strategy: 'max_f1' }, bootstrap: 20 },
      gates: [],
      ...overrides,
    });
    const result = await trainProject({ project, dir, configFile: path.join(dir, 'kiln.yaml') });
    if (!result.packageDir) throw new Error('training wrote no package');
    return result.packageDir;
  } finally {
    delete process.env.KILN_METADATA_URI;
    delete process.env.KILN_ARTIFACTS_URI;
  }
}

export type CustomerRecord = {
  deposits: number;
  withdrawals: number | null;
  stakes: number;
  product: string;
  age: string;
};

/** Generated customer records as JSON clients send them (NA → null). */
export async function customerRecords(rows: number, seed: number): Promise<CustomerRecord[]> {
  const file = path.join(tempDir(), 'records.csv');
  await writeCustomerRiskLikeCsv(file, rows, seed);
  const [, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  return lines.map((line) => {
    const [deposits, withdrawals, stakes, product, age] = line.split(',');
    return {
      deposits: Number(deposits),
      withdrawals: withdrawals === 'NA' || withdrawals === '' ? null : Number(withdrawals),
      stakes: Number(stakes),
      product,
      age,
    };
  });
}

/** The same records as a Table, built independently of the server's validation. */
export function recordsTable(records: readonly CustomerRecord[]): Table {
  const numeric = (name: 'deposits' | 'withdrawals' | 'stakes'): Column => ({
    type: 'number',
    values: Float64Array.from(records, (r) => r[name] ?? Number.NaN),
  });
  return {
    nRows: records.length,
    columns: new Map<string, Column>([
      ['deposits', numeric('deposits')],
      ['withdrawals', numeric('withdrawals')],
      ['stakes', numeric('stakes')],
      ['product', { type: 'category', values: records.map((r) => r.product) }],
      ['age', { type: 'category', values: records.map((r) => r.age) }],
    ]),
  };
}

/** An in-memory PredictionLog implementing the monitoring interface. */
export class MemoryLog implements PredictionLog {
  readonly predictions: PredictionRecord[] = [];
  readonly feedbacks: FeedbackRecord[] = [];
  closed = false;
  flushed = 0;

  append(...records: PredictionRecord[]): void {
    this.predictions.push(...records);
  }
  room(): undefined {
    return undefined;
  }
  async hasPrediction(id: string, model: string): Promise<boolean> {
    return this.predictions.some((p) => p.id === id && p.model === model);
  }
  async feedback(record: FeedbackRecord): Promise<void> {
    this.feedbacks.push(record);
  }
  async flush(): Promise<void> {
    this.flushed++;
  }
  stats(): PredictionLogStats {
    return { pending: 0, spilled: 0, written: this.predictions.length, failures: 0, dropped: 0 };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export const json = (payload: unknown) => ({
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  headers: { 'content-type': 'application/json' },
});
