/** What a drift test compares: one column of the reference (training) data against a live window. */
export type ColumnKind = 'numeric' | 'categorical' | 'vector';

/** Numbers, NaN (or ±Infinity) marking a missing value. */
export type NumericSample = Float64Array;
/** Category levels, null (or undefined) marking a missing value. */
export type CategoricalSample = readonly (string | null | undefined)[];
/** Rows of an embedding or any fixed-width vector; a row holding a non-finite number is missing. */
export type VectorSample = readonly Float64Array[];
export type DriftSample = NumericSample | CategoricalSample | VectorSample;

/** A sample with its missing values dropped, as a test's `compute` receives it. */
export type CleanSample = Float64Array | readonly string[] | readonly Float64Array[];

/** A p-value test drifts when p < threshold; a distance drifts when statistic >= threshold (Evidently). */
export type DriftScore = 'p_value' | 'distance';

export interface DriftStat {
  readonly statistic: number;
  readonly pValue?: number;
}

/** Returned by `compute` where the test is undefined on the samples given (one category, one row...). */
export interface Undefined {
  readonly insufficient: string;
}

export interface DriftTestOptions {
  /** Seed of tests that draw (the permutation test of mmd). */
  readonly seed?: number;
  /** Permutations of a permutation test. */
  readonly permutations?: number;
}

/**
 * A drift test registered by name (`registerDriftTest`). `compute` receives both samples of one kind,
 * missing values dropped and neither empty; it returns the statistic (and p-value for a p_value test),
 * or says why the test is undefined on them. Never NaN.
 */
export interface DriftTest {
  readonly name: string;
  readonly title: string;
  readonly kinds: readonly ColumnKind[];
  readonly score: DriftScore;
  readonly defaultThreshold: number;
  compute(reference: CleanSample, current: CleanSample, options: DriftTestOptions): DriftStat | Undefined;
}

export interface SampleSize {
  /** Values the test used. */
  readonly size: number;
  /** Values dropped as missing. */
  readonly missing: number;
}

interface DriftResultBase {
  readonly test: string;
  readonly kind: ColumnKind;
  readonly score: DriftScore;
  readonly threshold: number;
  /** Why this test ran: "configured", or the automatic rule that chose it. */
  readonly reason: string;
  readonly reference: SampleSize;
  readonly current: SampleSize;
}

export type DriftResult = DriftResultBase &
  (
    | {
        readonly status: 'ok';
        readonly statistic: number;
        readonly pValue?: number;
        readonly drifted: boolean;
      }
    | {
        readonly status: 'insufficient_data';
        /** What is missing: "current window is empty", "one category only"... */
        readonly detail: string;
        readonly statistic: null;
        readonly drifted: false;
      }
  );

export function isUndefined(stat: DriftStat | Undefined): stat is Undefined {
  return 'insufficient' in stat;
}
