/** The SciPy fixture (bench/drift/scipy_fixture.py) and the samples it describes, rebuilt bit for bit. */
import { readFileSync } from 'node:fs';

export interface SampleRule {
  rule: 'lcg-normal';
  seed: number;
  n: number;
  loc: number;
  scale: number;
  integer: boolean;
}

export type Expected = Record<
  string,
  { statistic: number | string; pValue?: number | string; bandwidth?: number }
>;

export interface Fixture {
  numeric: {
    name: string;
    reference: (number | null)[] | SampleRule;
    current: (number | null)[] | SampleRule;
    referenceDistinct: number;
    expected: Expected;
  }[];
  categorical: { name: string; reference: string[]; current: string[]; expected: Expected }[];
  vector: { name: string; reference: number[][]; current: number[][]; expected: Expected }[];
  empty: Record<string, string>;
  kstwo: { n: number; x: number; sf: number }[];
  chi2: { x: number; df: number; sf: number }[];
  norm: { z: number; sf: number }[];
}

export const fixture: Fixture = JSON.parse(
  readFileSync(new URL('./fixtures/scipy.json', import.meta.url), 'utf8'),
);

const M = 2147483647;

/** The script's rule: Park-Miller draws, 12 uniforms summed minus 6, scaled; the same IEEE operations in order. */
export function fromRule(rule: SampleRule): Float64Array {
  let s = rule.seed;
  const out = new Float64Array(rule.n);
  for (let i = 0; i < rule.n; i++) {
    let z = 0;
    for (let k = 0; k < 12; k++) {
      s = (s * 48271) % M;
      z += s / M;
    }
    const x = rule.loc + rule.scale * (z - 6);
    out[i] = rule.integer ? Math.floor(x) : x;
  }
  return out;
}

export function numericSample(spec: (number | null)[] | SampleRule): Float64Array {
  return Array.isArray(spec) ? Float64Array.from(spec, (v) => (v === null ? Number.NaN : v)) : fromRule(spec);
}

/** A fixture number: "inf" and "nan" are written as strings (JSON has neither). */
export function value(x: number | string): number {
  if (typeof x === 'number') return x;
  if (x === 'inf') return Number.POSITIVE_INFINITY;
  if (x === '-inf') return Number.NEGATIVE_INFINITY;
  if (x === 'nan') return Number.NaN;
  throw new Error(`not a fixture number: ${x}`);
}

/** Statistic agreement: 1e-6, relative beyond 1 (PSI and normed distances reach the hundreds). */
export function statisticGap(actual: number, expected: number): number {
  if (actual === expected) return 0;
  return Math.abs(actual - expected) / Math.max(1, Math.abs(expected));
}
