/**
 * Sequence cells: a JSON array of timesteps, each one number (no `fields`), or an array of the
 * `fields` values in order, or an object keyed by the field names. Held as a Float64Array of
 * timesteps × width (see SequenceColumn); every value a finite number within `min`/`max`.
 */
import type { ColumnSpec } from '../config/schema.js';
import { type CellProblem, CellProblems, describeJson, plural, pointerSegment } from './cells.js';

export interface SequenceDecoder {
  /** Numbers per timestep: the number of `fields`, or 1. */
  readonly width: number;
  /** A parsed JSON value → the cell's values, or what is wrong with it (at least one problem). */
  decode(value: unknown): Float64Array | CellProblem[];
}

/** Numbers per timestep of a sequence column: its `fields`, or 1. */
export function sequenceWidth(spec: Pick<ColumnSpec, 'fields'>): number {
  return spec.fields?.length ?? 1;
}

export function sequenceDecoder(spec: ColumnSpec): SequenceDecoder {
  const fields = spec.fields ?? null;
  const width = sequenceWidth(spec);
  const known: ReadonlySet<string> = new Set(fields ?? []);
  const { min, max } = spec;
  const minLength = spec.length?.min;
  const maxLength = spec.length?.max;
  const timestep = fields
    ? `an array [${fields.join(', ')}] or an object {${fields.join(', ')}}`
    : 'a number';
  const fieldName = (k: number) => (fields ? fields[k] : `value ${k}`);

  function put(
    out: Float64Array,
    at: number,
    value: unknown,
    pointer: string,
    place: string,
    problems: CellProblems,
  ): void {
    if (typeof value !== 'number')
      problems.add(pointer, place, `expected a number, got ${describeJson(value)}`);
    else if (!Number.isFinite(value)) problems.add(pointer, place, `${value} is not a finite number`);
    else if (min !== undefined && value < min)
      problems.add(pointer, place, `${value} is below the minimum ${min}`);
    else if (max !== undefined && value > max)
      problems.add(pointer, place, `${value} is above the maximum ${max}`);
    else out[at] = value;
  }

  function decode(value: unknown): Float64Array | CellProblem[] {
    if (!Array.isArray(value))
      return [
        { pointer: '', place: '', reason: `expected a JSON array of timesteps, got ${describeJson(value)}` },
      ];
    const n = value.length;
    // Too long: refused before anything is allocated for it.
    if (maxLength !== undefined && n > maxLength)
      return [{ pointer: '', place: '', reason: `${plural(n, 'timestep')}, at most ${maxLength} allowed` }];
    const problems = new CellProblems();
    if (minLength !== undefined && n < minLength)
      problems.add('', '', `${plural(n, 'timestep')}, at least ${minLength} needed`);
    const out = new Float64Array(n * width);
    for (let t = 0; t < n; t++) {
      const step = value[t];
      const base = t * width;
      if (width === 1 && typeof step === 'number') {
        put(out, base, step, `/${t}`, `timestep ${t}`, problems);
      } else if (Array.isArray(step)) {
        if (step.length !== width) {
          const names = fields ? ` (${fields.join(', ')})` : '';
          problems.add(
            `/${t}`,
            `timestep ${t}`,
            `expected ${plural(width, 'value')}${names}, got ${step.length}`,
          );
          continue;
        }
        for (let k = 0; k < width; k++)
          put(out, base + k, step[k], `/${t}/${k}`, `timestep ${t}, ${fieldName(k)}`, problems);
      } else if (fields && typeof step === 'object' && step !== null) {
        const record = step as Record<string, unknown>;
        fields.forEach((field, k) => {
          const pointer = `/${t}/${pointerSegment(field)}`;
          const place = `timestep ${t}, ${field}`;
          if (Object.hasOwn(record, field)) put(out, base + k, record[field], pointer, place, problems);
          else problems.add(pointer, place, 'missing field');
        });
        for (const key of Object.keys(record))
          if (!known.has(key))
            problems.add(
              `/${t}/${pointerSegment(key)}`,
              `timestep ${t}, ${key}`,
              `unknown field (fields: ${fields.join(', ')})`,
            );
      } else {
        problems.add(`/${t}`, `timestep ${t}`, `expected ${timestep}, got ${describeJson(step)}`);
      }
    }
    return problems.empty ? out : problems.done();
  }

  return { width, decode };
}

/** A cell as JSON: numbers (width 1), or one array of `width` numbers per timestep; NaN as null. */
export function sequenceJson(values: Float64Array, width: number): (number | null)[] | (number | null)[][] {
  const json = (v: number) => (Number.isFinite(v) ? v : null);
  if (width === 1) return Array.from(values, json);
  const steps: (number | null)[][] = [];
  for (let at = 0; at < values.length; at += width)
    steps.push(Array.from(values.subarray(at, at + width), json));
  return steps;
}

/**
 * A sequence every decoder of `spec` accepts, as JSON (e.g. a probe row): 64 timesteps unless the
 * declared length says otherwise, every value the smallest allowed one near 0.
 */
export function sampleSequence(spec: ColumnSpec): number[] | number[][] {
  const n = Math.min(Math.max(64, spec.length?.min ?? 0), spec.length?.max ?? Number.POSITIVE_INFINITY);
  const value = spec.min ?? (spec.max !== undefined ? Math.min(0, spec.max) : 0);
  const width = sequenceWidth(spec);
  const step = () => (width === 1 ? value : Array.from({ length: width }, () => value));
  return Array.from({ length: n }, step) as number[] | number[][];
}
