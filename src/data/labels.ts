import type { Column } from '../data/table.js';

export interface EncodedLabels {
  classes: string[];
  codes: Int32Array;
}

/** Label as text: booleans "false"/"true", numbers without trailing zeros, strings as-is. */
export function labelText(column: Column, row: number): string | null {
  const value = column.values[row];
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return null;
    return column.type === 'boolean' ? (value ? 'true' : 'false') : String(value);
  }
  if (typeof value === 'string') return value;
  throw new Error(`target column of type ${column.type} cannot be a classification label`);
}

/** Classes in a stable order: numeric order when every label is a number, otherwise text order. */
export function encodeLabels(column: Column, fixedClasses?: readonly string[]): EncodedLabels {
  const n = column.values.length;
  const texts: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = labelText(column, i);
    if (t === null)
      throw new Error(
        `target has a missing value at row ${i} (rows without a target are rejected when loading)`,
      );
    texts[i] = t;
  }
  const classes = fixedClasses ? [...fixedClasses] : sortLabels([...new Set(texts)]);
  const index = new Map(classes.map((c, i) => [c, i]));
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const code = index.get(texts[i]);
    if (code === undefined)
      throw new Error(`target value "${texts[i]}" is not one of the model's classes (${classes.join(', ')})`);
    codes[i] = code;
  }
  return { classes, codes };
}

function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return numeric ? labels.sort((a, b) => Number(a) - Number(b)) : labels.sort();
}
