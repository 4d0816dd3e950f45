/**
 * Deterministic splits: k-fold cross-validation and a holdout test set, as row index arrays into a
 * Table. The same seed, table and options always give the same indices, on any machine.
 *
 * Strategies: `random`; `stratified` (class proportions kept in every part); `group` (all rows of a
 * group key in one part); `time` (ordered by a time column, validation always later than training).
 */
import type { SplitConfig } from '../config/schema.js';
import { Random } from '../util/random.js';
import { getColumn, isNumericColumn, isStringColumn, type Table } from './table.js';

export type SplitStrategy = SplitConfig['strategy'];

export interface SplitOptions {
  strategy: SplitStrategy;
  seed: number;
  /** Shuffle rows (random, stratified) or groups (group) before assigning them; ignored by `time`. */
  shuffle?: boolean;
  /** Class label column, for `stratified`. */
  target?: string;
  /** Group key column (`group`) or ordering time column (`time`). */
  column?: string;
  /**
   * Split only these rows (e.g. the training part of a holdout); returned indices still index `table`.
   * Default: every row.
   */
  rows?: Int32Array;
}

/** One cross-validation fold; both arrays ascending. */
export interface Fold {
  readonly train: Int32Array;
  readonly valid: Int32Array;
}

/** A holdout split; both arrays ascending. */
export interface Holdout {
  readonly train: Int32Array;
  readonly test: Int32Array;
}

/**
 * `folds` cross-validation folds: every row is in exactly one validation fold, except with `time`,
 * where the earliest block only ever trains (forward chaining: fold i trains on every row before its
 * block). Throws when there are fewer groups, or members of the smallest class, than folds.
 */
export function kFoldSplit(table: Table, folds: number, options: SplitOptions): Fold[] {
  if (!Number.isInteger(folds) || folds < 2)
    throw new Error(`split: folds must be an integer >= 2, got ${folds}`);
  const rows = options.rows ?? allRows(table.nRows);
  const m = rows.length;
  if (m < folds) throw new Error(`split: ${m} rows cannot make ${folds} folds`);
  const rng = new Random(options.seed);
  const shuffle = options.shuffle ?? true;
  // fold[p] is the validation fold of rows[p].
  const fold = new Int32Array(m);
  switch (options.strategy) {
    case 'random': {
      const order = positions(m, shuffle ? rng : null);
      const sizes = blockSizes(m, folds);
      for (let f = 0, p = 0; f < folds; f++) for (let i = 0; i < sizes[f]; i++) fold[order[p++]] = f;
      break;
    }
    case 'stratified': {
      const { codes, names } = keys(table, required(options.target, 'stratified', 'target'), rows);
      const members = byKey(codes, names.length, shuffle ? rng : null);
      const smallest = members.reduce((a, b, i) => (b.length < members[a].length ? i : a), 0);
      if (members[smallest].length < folds) {
        throw new Error(
          `split: class ${JSON.stringify(names[smallest])} of "${options.target}" has ${members[smallest].length} ` +
            `rows, fewer than the ${folds} folds; use fewer folds`,
        );
      }
      // Round-robin over the classes laid end to end: every fold gets each class's count to within one.
      let next = 0;
      for (const list of members) for (const p of list) fold[p] = next++ % folds;
      break;
    }
    case 'group': {
      const column = required(options.column, 'group', 'column');
      const { codes, names } = keys(table, column, rows);
      if (names.length < folds) {
        throw new Error(
          `split: column "${column}" has ${names.length} groups, fewer than the ${folds} folds`,
        );
      }
      const groupFold = balanceGroups(byKey(codes, names.length, null), folds, shuffle ? rng : null);
      for (let p = 0; p < m; p++) fold[p] = groupFold[codes[p]];
      break;
    }
    case 'time':
      return timeFolds(table, required(options.column, 'time', 'column'), rows, folds);
  }
  return Array.from({ length: folds }, (_, f) => partition(rows, (p) => fold[p] !== f)).map(
    ([train, valid]) => ({
      train,
      valid,
    }),
  );
}

/**
 * Holds out about `testFraction` of the rows (rounded up, as scikit-learn): `random` takes a shuffled
 * sample (the last rows without shuffle); `stratified` keeps each class's proportion; `group` keeps
 * groups whole (the fraction is then approximate); `time` takes the latest rows.
 */
export function holdoutSplit(table: Table, testFraction: number, options: SplitOptions): Holdout {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`split: testFraction must be between 0 and 1 (exclusive), got ${testFraction}`);
  }
  const rows = options.rows ?? allRows(table.nRows);
  const m = rows.length;
  const nTest = Math.ceil(m * testFraction);
  if (nTest >= m)
    throw new Error(`split: ${m} rows are too few to hold out ${testFraction} and keep training rows`);
  const rng = new Random(options.seed);
  const shuffle = options.shuffle ?? true;
  const inTest = new Uint8Array(m);
  switch (options.strategy) {
    case 'random': {
      const order = positions(m, shuffle ? rng : null);
      for (let i = 0; i < nTest; i++) inTest[order[shuffle ? i : m - 1 - i]] = 1;
      break;
    }
    case 'stratified': {
      const { codes, names } = keys(table, required(options.target, 'stratified', 'target'), rows);
      const members = byKey(codes, names.length, shuffle ? rng : null);
      const small = members.findIndex((list) => list.length < 2);
      if (small >= 0) {
        throw new Error(
          `split: class ${JSON.stringify(names[small])} of "${options.target}" has 1 row; a stratified ` +
            'holdout needs at least 2 rows per class',
        );
      }
      const quota = largestRemainder(
        members.map((list) => list.length * testFraction),
        nTest,
      );
      members.forEach((list, c) => {
        const take = Math.min(quota[c], list.length - 1);
        // Without shuffle the test rows are each class's last, as the random strategy takes the last rows.
        for (let i = 0; i < take; i++) inTest[shuffle ? list[i] : list[list.length - 1 - i]] = 1;
      });
      break;
    }
    case 'group': {
      const column = required(options.column, 'group', 'column');
      const { codes, names } = keys(table, column, rows);
      if (names.length < 2)
        throw new Error(`split: column "${column}" has 1 group; a group holdout needs 2 or more`);
      const members = byKey(codes, names.length, null);
      const order = positions(names.length, shuffle ? rng : null);
      let taken = 0;
      let groupsTaken = 0;
      for (const g of order) {
        const size = members[g].length;
        // Take a group when it brings the test size closer to the target, always at least one group.
        const closer = Math.abs(taken + size - nTest) <= Math.abs(taken - nTest);
        if ((closer || groupsTaken === 0) && groupsTaken < names.length - 1) {
          for (const p of members[g]) inTest[p] = 1;
          taken += size;
          groupsTaken++;
        }
      }
      break;
    }
    case 'time': {
      const { order, times } = timeOrder(table, required(options.column, 'time', 'column'), rows);
      // Rows sharing a time stay on one side, so every training time is earlier than every test time.
      let cut = m - nTest;
      while (cut > 0 && times[order[cut - 1]] === times[order[cut]]) cut--;
      if (cut === 0) {
        cut = m - nTest;
        while (cut < m && times[order[cut - 1]] === times[order[cut]]) cut++;
      }
      if (cut === m)
        throw new Error(`split: column "${options.column}" has a single time; cannot hold out later rows`);
      for (let i = cut; i < m; i++) inTest[order[i]] = 1;
      break;
    }
  }
  const [train, test] = partition(rows, (p) => inTest[p] === 0);
  return { train, test };
}

/** The split options a project's `split` section gives, for one seed. */
export function splitOptions(config: SplitConfig, options: { seed: number; target?: string }): SplitOptions {
  return {
    strategy: config.strategy,
    shuffle: config.shuffle,
    column: config.column,
    target: options.target,
    seed: options.seed,
  };
}

/** The holdout (when `testFraction` > 0) and the cross-validation folds on its training rows. */
export function splitFromConfig(
  table: Table,
  config: SplitConfig,
  options: { seed: number; target?: string },
): { holdout: Holdout | null; folds: Fold[] } {
  const base = splitOptions(config, options);
  const holdout = config.testFraction > 0 ? holdoutSplit(table, config.testFraction, base) : null;
  const folds = kFoldSplit(table, config.folds, { ...base, rows: holdout?.train });
  return { holdout, folds };
}

function timeFolds(table: Table, column: string, rows: Int32Array, folds: number): Fold[] {
  const m = rows.length;
  if (m < folds + 1)
    throw new Error(`split: ${m} rows cannot make ${folds} time-ordered folds (need ${folds + 1})`);
  const { order, times } = timeOrder(table, column, rows);
  // scikit-learn's TimeSeriesSplit sizes: k validation blocks of m / (k + 1), the remainder trains first.
  const blockSize = Math.floor(m / (folds + 1));
  const starts: number[] = [];
  for (let f = 0; f < folds; f++) {
    let start = m - (folds - f) * blockSize;
    // A block starts at a new time, so no training row shares a time with its validation rows.
    while (start < m && times[order[start - 1]] === times[order[start]]) start++;
    starts.push(start);
  }
  starts.push(m);
  const out: Fold[] = [];
  for (let f = 0; f < folds; f++) {
    if (starts[f] >= starts[f + 1]) {
      throw new Error(`split: column "${column}" has too few distinct times for ${folds} time-ordered folds`);
    }
    out.push({
      train: sorted(order.subarray(0, starts[f]), rows),
      valid: sorted(order.subarray(starts[f], starts[f + 1]), rows),
    });
  }
  return out;
}

/** Positions ordered by time, ties by position (stable); missing times are an error. */
function timeOrder(
  table: Table,
  column: string,
  rows: Int32Array,
): { order: Int32Array; times: Float64Array } {
  const source = getColumn(table, column);
  if (!isNumericColumn(source)) {
    throw new Error(`split: time column "${column}" is ${source.type}; declare it as datetime or a number`);
  }
  const times = new Float64Array(rows.length);
  for (let p = 0; p < rows.length; p++) {
    times[p] = source.values[rows[p]];
    if (Number.isNaN(times[p]))
      throw new Error(`split: time column "${column}" is missing at table row ${rows[p]}`);
  }
  const order = positions(rows.length, null).sort((a, b) => times[a] - times[b] || a - b);
  return { order, times };
}

/** Assigns groups, largest first, each to the currently smallest fold (ties: shuffled group order). */
function balanceGroups(members: readonly number[][], folds: number, rng: Random | null): Int32Array {
  const order = Array.from(positions(members.length, rng));
  order.sort((a, b) => members[b].length - members[a].length);
  const size = new Float64Array(folds);
  const groupFold = new Int32Array(members.length);
  for (const g of order) {
    let best = 0;
    for (let f = 1; f < folds; f++) if (size[f] < size[best]) best = f;
    groupFold[g] = best;
    size[best] += members[g].length;
  }
  return groupFold;
}

/** Integer quotas summing to `total`, each the floor of its share plus one for the largest remainders. */
function largestRemainder(shares: readonly number[], total: number): number[] {
  const quota = shares.map(Math.floor);
  let left = total - quota.reduce((a, b) => a + b, 0);
  const byRemainder = shares
    .map((_, i) => i)
    .sort((a, b) => shares[b] - quota[b] - (shares[a] - quota[a]) || a - b);
  for (let i = 0; left > 0; i = (i + 1) % shares.length, left--) quota[byRemainder[i]]++;
  return quota;
}

/** Row keys as dense codes (first appearance order); missing keys are an error. */
function keys(table: Table, column: string, rows: Int32Array): { codes: Int32Array; names: string[] } {
  const source = getColumn(table, column);
  if (!isNumericColumn(source) && !isStringColumn(source)) {
    throw new Error(`split: column "${column}" is ${source.type}; it cannot key a split`);
  }
  const codes = new Int32Array(rows.length);
  const index = new Map<string | number, number>();
  const names: string[] = [];
  for (let p = 0; p < rows.length; p++) {
    const value = source.values[rows[p]];
    if (value === null || (typeof value === 'number' && Number.isNaN(value))) {
      throw new Error(`split: column "${column}" is missing at table row ${rows[p]}`);
    }
    let code = index.get(value);
    if (code === undefined) {
      code = names.length;
      index.set(value, code);
      names.push(String(value));
    }
    codes[p] = code;
  }
  return { codes, names };
}

/** Positions of each key, in position order or shuffled within each key. */
function byKey(codes: Int32Array, nKeys: number, rng: Random | null): number[][] {
  const members: number[][] = Array.from({ length: nKeys }, () => []);
  for (let p = 0; p < codes.length; p++) members[codes[p]].push(p);
  if (rng) for (const list of members) rng.shuffle(list);
  return members;
}

function positions(m: number, rng: Random | null): Int32Array {
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) out[i] = i;
  return rng ? rng.shuffle(out) : out;
}

function allRows(n: number): Int32Array {
  return positions(n, null);
}

function blockSizes(m: number, folds: number): number[] {
  return Array.from({ length: folds }, (_, f) => Math.floor(m / folds) + (f < m % folds ? 1 : 0));
}

/** Table indices of the positions passing `keep` and of the others, each ascending. */
function partition(rows: Int32Array, keep: (p: number) => boolean): [Int32Array, Int32Array] {
  let nKeep = 0;
  for (let p = 0; p < rows.length; p++) if (keep(p)) nKeep++;
  const kept = new Int32Array(nKeep);
  const rest = new Int32Array(rows.length - nKeep);
  for (let p = 0, a = 0, b = 0; p < rows.length; p++) {
    if (keep(p)) kept[a++] = rows[p];
    else rest[b++] = rows[p];
  }
  return [kept.sort(), rest.sort()];
}

function sorted(order: Int32Array, rows: Int32Array): Int32Array {
  const out = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) out[i] = rows[order[i]];
  return out.sort();
}

function required(value: string | undefined, strategy: SplitStrategy, option: string): string {
  if (!value) throw new Error(`split: strategy "${strategy}" needs the ${option} option`);
  return value;
}
