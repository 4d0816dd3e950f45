import type { FeatureStepConfig } from '../../src/config/schema.js';
import type { DenseMatrix, ModelInput } from '../../src/data/matrix.js';
import type { Column, Table } from '../../src/data/table.js';
import { makeTable } from '../../src/data/table.js';
import type { FitContext, FittedStep, StepKind } from '../../src/features/steps/step.js';
import { Random } from '../../src/util/random.js';

export const num = (
  values: readonly number[],
  type: 'number' | 'integer' | 'boolean' | 'datetime' = 'number',
): Column => ({
  type,
  values: Float64Array.from(values),
});
export const cat = (
  values: readonly (string | null)[],
  type: 'category' | 'string' = 'category',
): Column => ({
  type,
  values: [...values],
});
export const table = (columns: Record<string, Column>): Table => makeTable(Object.entries(columns));

export const numbers = (t: Table, name: string): number[] => {
  const column = t.columns.get(name);
  if (!column) throw new Error(`no column ${name}`);
  return Array.from(column.values as Float64Array);
};

/** Fits one step kind; a kind may fit synchronously or not, so its errors surface as rejections. */
export async function fitKind<C extends FeatureStepConfig>(
  kind: StepKind<C>,
  t: Table,
  config: C,
  context: FitContext = { exclude: new Set() },
): Promise<FittedStep> {
  return kind.fit(t, config, context);
}

/** The model input of a dense pipeline. */
export function dense(X: ModelInput): DenseMatrix {
  if (X.kind !== 'dense') throw new Error(`expected a dense matrix, got ${X.kind}`);
  return X;
}

/**
 * A toon-like customer table: numeric columns with missing values, booleans, categories with missing
 * values, a datetime, an id and a binary target. Deterministic for a seed.
 */
export function customers(nRows: number, seed: number): Table {
  const rng = new Random(seed);
  const id: string[] = [];
  const age: number[] = [];
  const income: number[] = [];
  const electricity: number[] = [];
  const gas: number[] = [];
  const solar: number[] = [];
  const region: (string | null)[] = [];
  const contract: (string | null)[] = [];
  const housing: (string | null)[] = [];
  const bought: number[] = [];
  const regions = ['noord', 'oost', 'zuid', 'west', 'midden'];
  const contracts = ['vast', 'variabel', 'dynamisch'];
  const houses = ['appartement', 'rijtjeshuis', 'twee-onder-een-kap', 'vrijstaand'];
  for (let i = 0; i < nRows; i++) {
    id.push(`c${i}`);
    age.push(rng.next() < 0.1 ? Number.NaN : 18 + rng.int(70));
    income.push(
      rng.next() < 0.15 ? Number.NaN : Math.round(20000 + 40000 * rng.next() + 5000 * rng.normal()),
    );
    electricity.push(rng.next() < 0.05 ? Number.NaN : 1500 + 1000 * rng.next());
    gas.push(rng.next() < 0.2 ? Number.NaN : 800 + 600 * rng.normal());
    solar.push(rng.next() < 0.05 ? Number.NaN : rng.next() < 0.3 ? 1 : 0);
    region.push(rng.next() < 0.08 ? null : regions[rng.int(regions.length)]);
    contract.push(contracts[rng.int(contracts.length)]);
    housing.push(rng.next() < 0.1 ? null : houses[rng.int(houses.length)]);
    bought.push(rng.next() < 0.1 ? 1 : 0);
  }
  return table({
    id: cat(id, 'string'),
    age: num(age, 'integer'),
    income: num(income),
    'electricity last': num(electricity),
    gas: num(gas),
    solar: num(solar, 'boolean'),
    region: cat(region),
    contract: cat(contract),
    housing: cat(housing),
    bought: num(bought, 'integer'),
  });
}
