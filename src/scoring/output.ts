/**
 * What a prediction file holds per task, after the id column: classification `label,p_<class>...`,
 * regression `prediction`, embeddings `e_0..e_{d-1}`. Local (`batchPredict`) and remote
 * (`remotePredict`) scoring write the same columns from the same code.
 */
import type { Column } from '../data/table.js';
import { getTask, type TaskName, type TaskOutput } from '../tasks/index.js';

export interface PredictionColumns {
  /** The header after the id column. */
  readonly header: readonly string[];
  /** Score values per row. */
  readonly width: number;
  /** The cells after the id of the row whose scores start at `offset` (its decided class, if any). */
  cells(scores: Float64Array, offset: number, label: string | null): string[];
  /** What `--sort` orders by; undefined for tasks no single number ranks. */
  readonly sortKey?: (scores: Float64Array, offset: number) => number;
}

/** The prediction columns of a task; throws for tasks a row-per-prediction file cannot hold. */
export function predictionColumns(taskName: TaskName | string, output: TaskOutput): PredictionColumns {
  const task = getTask(taskName);
  const width = task.width(output);
  if (task.name === 'binary' || task.name === 'multiclass') {
    const { classes } = output;
    const positive = output.positive === undefined ? -1 : classes.indexOf(output.positive);
    return {
      header: ['label', ...classes.map((c) => `p_${c}`)],
      width,
      cells: (scores, offset, label) => [
        label ?? '',
        ...Array.from(scores.subarray(offset, offset + width), formatProbability),
      ],
      // The positive class's probability (binary), else the predicted class's.
      sortKey: (scores, offset) => {
        if (positive >= 0) return scores[offset + positive];
        let best = scores[offset];
        for (let c = 1; c < width; c++) best = Math.max(best, scores[offset + c]);
        return best;
      },
    };
  }
  if (task.name === 'regression')
    return {
      header: ['prediction'],
      width,
      cells: (scores, offset) => [formatValue(scores[offset])],
      sortKey: (scores, offset) => scores[offset],
    };
  if (task.name === 'embedding')
    return {
      header: Array.from({ length: width }, (_, j) => `e_${j}`),
      width,
      cells: (scores, offset) => Array.from(scores.subarray(offset, offset + width), formatProbability),
    };
  throw new Error(`${task.name} models score sequences, not the rows of a table file`);
}

/** 8 significant digits; empty for a refused row. */
export function formatProbability(p: number): string {
  return Number.isNaN(p) ? '' : p.toPrecision(8);
}

/** A predicted value as JavaScript writes it (round-trips exactly); empty for a refused row. */
export function formatValue(v: number): string {
  return Number.isNaN(v) ? '' : String(v);
}

/**
 * A kept input cell (`--keep`) as text: as read for columns kept only for the output (read as
 * strings), in the file's form for signature columns (true/false, ISO datetimes, base64 bytes, the
 * timesteps' numbers); empty when missing.
 */
export function inputCell(column: Column, i: number): string {
  switch (column.type) {
    case 'category':
    case 'string':
    case 'text':
      return column.values[i] ?? '';
    case 'blob': {
      const bytes = column.values[i];
      return bytes ? Buffer.from(bytes).toString('base64') : '';
    }
    case 'sequence': {
      const steps = column.values[i];
      return steps ? JSON.stringify(Array.from(steps)) : '';
    }
    default: {
      const value = column.values[i];
      if (Number.isNaN(value)) return '';
      if (column.type === 'boolean') return value ? 'true' : 'false';
      return column.type === 'datetime' ? new Date(value).toISOString() : String(value);
    }
  }
}
