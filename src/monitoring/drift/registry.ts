import { Registry } from '../../util/registry.js';
import { chi2Test } from './chi2.js';
import { jensenShannonTest } from './jensenshannon.js';
import { ksTest } from './ks.js';
import { mmdTest } from './mmd.js';
import { psiTest } from './psi.js';
import { clean, distinctCount, sampleKind } from './samples.js';
import type {
  CleanSample,
  ColumnKind,
  DriftResult,
  DriftSample,
  DriftTest,
  DriftTestOptions,
  SampleSize,
} from './types.js';
import { isUndefined } from './types.js';
import { wassersteinTest } from './wasserstein.js';
import { zTest } from './z.js';

const tests = new Registry<DriftTest>('drift test', () => [
  ksTest,
  chi2Test,
  zTest,
  wassersteinTest,
  jensenShannonTest,
  psiTest,
  mmdTest,
]);

const KINDS: readonly ColumnKind[] = ['numeric', 'categorical', 'vector'];

/** Adds a drift test (from a project's own code, through the SDK); names are unique. */
export function registerDriftTest(test: DriftTest): void {
  if (!Array.isArray(test.kinds) || test.kinds.length === 0 || test.kinds.some((k) => !KINDS.includes(k)))
    throw new Error(
      `drift test "${test.name}" must name the column kinds it applies to (${KINDS.join(', ')})`,
    );
  if (test.score !== 'p_value' && test.score !== 'distance')
    throw new Error(`drift test "${test.name}" scores by "p_value" or "distance", not "${test.score}"`);
  if (!Number.isFinite(test.defaultThreshold))
    throw new Error(`drift test "${test.name}" needs a finite default threshold`);
  tests.register(test);
}

export function getDriftTest(name: string): DriftTest {
  return tests.get(name);
}

export function findDriftTest(name: string): DriftTest | undefined {
  return tests.find(name);
}

/** The registered drift tests, built-ins first. */
export function driftTests(): DriftTest[] {
  return tests.all();
}

/** Evidently's rule switches from small-sample tests to distances above this many reference values. */
export const SMALL_REFERENCE = 1000;

export interface DriftTestChoice {
  readonly test: string;
  readonly reason: string;
}

/**
 * The test Evidently would choose for a column, by kind, reference size (missing values dropped) and the
 * reference's distinct values: up to 1,000 values, ks for numbers with more than 5 distinct values,
 * otherwise chi2 above 2 levels and z for 2; above 1,000, wasserstein for numbers with more than 5 distinct
 * values, otherwise jensenshannon; mmd for vectors. Evidently counts distinct values over both samples;
 * here the reference alone decides, so a column keeps its test from one window to the next.
 */
export function chooseDriftTest(kind: ColumnKind, reference: DriftSample): DriftTestChoice {
  return choose(kind, clean(reference, kind).values);
}

function choose(kind: ColumnKind, reference: CleanSample): DriftTestChoice {
  if (kind === 'vector') return { test: 'mmd', reason: 'vector column: mmd' };
  const size = reference.length;
  const distinct = distinctCount(reference);
  const small = size <= SMALL_REFERENCE;
  const sizeText = `reference of ${size} values (${small ? '<=' : '>'} ${SMALL_REFERENCE})`;
  if (kind === 'numeric' && distinct > 5) {
    const test = small ? 'ks' : 'wasserstein';
    return { test, reason: `numeric column, ${sizeText} with ${distinct} distinct values (> 5): ${test}` };
  }
  const what =
    kind === 'numeric'
      ? `numeric column, ${sizeText} with ${distinct} distinct values (<= 5)`
      : `categorical column, ${sizeText} with ${distinct} categories`;
  if (!small) return { test: 'jensenshannon', reason: `${what}: jensenshannon` };
  const test = distinct > 2 ? 'chi2' : 'z';
  return { test, reason: `${what}, ${distinct > 2 ? 'more than 2' : 'at most 2'} categories: ${test}` };
}

export interface RunDriftOptions extends DriftTestOptions {
  /** Overrides the test's default threshold. */
  readonly threshold?: number;
  /** The column's kind, when the samples' shape cannot tell (two empty arrays). */
  readonly kind?: ColumnKind;
}

/**
 * Runs a drift test by name, or the one `chooseDriftTest` picks ('auto'), on a column's reference and
 * current samples. Missing values are dropped and counted; an empty sample, or one where the test is
 * undefined, gives status 'insufficient_data' with the reason, never NaN.
 */
export function runDriftTest(
  name: string,
  reference: DriftSample,
  current: DriftSample,
  options: RunDriftOptions = {},
): DriftResult {
  const kind = options.kind ?? kindOf(reference, current);
  const ref = clean(reference, kind);
  const cur = clean(current, kind);
  const choice = name === 'auto' ? choose(kind, ref.values) : { test: name, reason: 'configured' };
  const test = getDriftTest(choice.test);
  if (!test.kinds.includes(kind))
    throw new Error(`drift test "${test.name}" applies to ${test.kinds.join(', ')} columns, not ${kind}`);
  const threshold = options.threshold ?? test.defaultThreshold;
  const base = {
    test: test.name,
    kind,
    score: test.score,
    threshold,
    reason: choice.reason,
    reference: ref.size,
    current: cur.size,
  };
  const emptiness = emptySide(ref.size, 'reference') ?? emptySide(cur.size, 'current');
  if (emptiness)
    return { ...base, status: 'insufficient_data', detail: emptiness, statistic: null, drifted: false };
  const stat = test.compute(ref.values, cur.values, options);
  if (isUndefined(stat))
    return {
      ...base,
      status: 'insufficient_data',
      detail: stat.insufficient,
      statistic: null,
      drifted: false,
    };
  if (Number.isNaN(stat.statistic) || (stat.pValue !== undefined && Number.isNaN(stat.pValue)))
    return {
      ...base,
      status: 'insufficient_data',
      detail: `${test.name} is undefined on these samples`,
      statistic: null,
      drifted: false,
    };
  const drifted = test.score === 'p_value' ? (stat.pValue ?? 1) < threshold : stat.statistic >= threshold;
  return {
    ...base,
    status: 'ok',
    statistic: stat.statistic,
    ...(stat.pValue !== undefined && { pValue: stat.pValue }),
    drifted,
  };
}

function kindOf(reference: DriftSample, current: DriftSample): ColumnKind {
  const nonEmpty = (s: DriftSample) =>
    s instanceof Float64Array || s.some((v) => v !== null && v !== undefined);
  const ref = sampleKind(reference);
  const cur = sampleKind(current);
  if (nonEmpty(reference) && nonEmpty(current) && ref !== cur)
    throw new Error(`reference is a ${ref} sample but current is a ${cur} sample`);
  return nonEmpty(reference) ? ref : cur;
}

function emptySide(size: SampleSize, side: 'reference' | 'current'): string | undefined {
  if (size.size > 0) return undefined;
  const what = side === 'current' ? 'current window' : 'reference';
  return size.missing > 0 ? `${what} has no usable value (${size.missing} missing)` : `${what} is empty`;
}

export interface DatasetDrift {
  readonly status: 'ok' | 'insufficient_data';
  /** Columns with a result, tested or not. */
  readonly columns: number;
  /** Columns whose test ran (status 'ok'); the others had insufficient data. */
  readonly tested: number;
  readonly drifted: number;
  /** drifted / tested (0 when nothing was tested). */
  readonly share: number;
  /** The configured share; the dataset drifts when at least this share of tested columns drifts (Evidently). */
  readonly threshold: number;
  readonly datasetDrifted: boolean;
}

/** Dataset-level drift: the share of tested columns that drifted, against the configured share. */
export function datasetDrift(results: readonly DriftResult[], share = 0.5): DatasetDrift {
  if (!(share > 0 && share <= 1)) throw new Error(`drift share must be in (0, 1], got ${share}`);
  const tested = results.filter((r) => r.status === 'ok');
  const drifted = tested.filter((r) => r.drifted).length;
  const observed = tested.length ? drifted / tested.length : 0;
  return {
    status: tested.length ? 'ok' : 'insufficient_data',
    columns: results.length,
    tested: tested.length,
    drifted,
    share: observed,
    threshold: share,
    datasetDrifted: tested.length > 0 && observed >= share,
  };
}
