import { once } from 'node:events';
import { createWriteStream, existsSync, realpathSync, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ColumnSpec } from '../config/schema.js';
import type { DataReport } from '../data/load.js';
import { csvCell } from '../data/rejects.js';
import { getColumn, type Table } from '../data/table.js';
import type { UnseenValue } from '../features/steps/step.js';
import { loadPackage } from '../packaging/load.js';
import { decide } from '../tasks/index.js';
import { type Progress, silentProgress } from '../util/progress.js';
import { jsEngine } from './engines/js.js';
import { assertInputHas, keptColumns } from './input-columns.js';
import { inputCell, predictionColumns } from './output.js';
import { streamPackageInput } from './package-input.js';

/** `column=value` or `column!=value`: compared as text, case-insensitively (TRUE matches true). */
export interface RowFilter {
  column: string;
  op: '=' | '!=';
  value: string;
}

export interface BatchPredictOptions {
  modelDir: string;
  input: string;
  output: string;
  /** Where refused rows go, with one reason each. Default: `<output>.rejects.csv`. */
  rejects?: string;
  /** Sort output rows by the positive (binary) or predicted class's probability, or the predicted value. */
  sort?: 'desc' | 'asc';
  where?: RowFilter[];
  /** Input columns written after the id (or line), before the predictions, e.g. a prospect's name. */
  keep?: readonly string[];
  /** Score a package edited by hand (files that differ from its recorded digests), with a warning. */
  allowModified?: boolean;
  progress?: Progress;
}

export interface BatchPredictResult {
  data: DataReport;
  /** The header written: id column (or `line`), kept columns, prediction columns. */
  header: string[];
  /** The kept input columns written after the first (`keep` less the id column). */
  kept: string[];
  rowsScored: number;
  rowsFiltered: number;
  rowsRejected: number;
  rejectsPath: string | null;
  /**
   * Values of scored rows the model never saw in training, by input column: unseen levels the package
   * scores anyway (`unseen: 'ignore'`), as the server warns about them.
   */
  unseen: Record<string, number>;
}

export function parseFilter(text: string): RowFilter {
  const match = /^\s*([^!=\s][^!=]*?)\s*(!=|=)\s*(.*?)\s*$/.exec(text);
  if (!match) throw new Error(`invalid filter "${text}": expected column=value or column!=value`);
  return { column: match[1], op: match[2] as RowFilter['op'], value: match[3] };
}

/**
 * Streams an input file through a package's frozen pipeline and model in bounded memory (unless
 * sorting, which keeps only the output rows), writing the id, the kept input columns and the task's
 * prediction columns (`predictionColumns`: label and class probabilities, a value, or a vector).
 * Rows the schema or the frozen pipeline refuse go to the rejects file; none disappears unreported.
 */
export async function batchPredict(options: BatchPredictOptions): Promise<BatchPredictResult> {
  const progress = options.progress ?? silentProgress;
  const model = loadPackage(options.modelDir, { allowModified: options.allowModified });
  const { manifest } = model;
  const filters = options.where ?? [];
  const rejects = options.rejects ?? `${options.output}.rejects.csv`;
  const keepNames = options.keep ?? [];
  const asText: ColumnSpec = { type: 'string', nullable: true };
  const extraColumns = Object.fromEntries(
    [manifest.signature.id, ...keepNames, ...filters.map((f) => f.column)]
      .filter((c): c is string => Boolean(c))
      .map((c) => [c, asText]),
  );
  const columns = predictionColumns(model.task.name, model.output);
  const { sortKey, width } = columns;
  if (options.sort && !sortKey)
    throw new Error(`--sort ranks by one number per row; a ${model.task.name} model has none`);
  const rule = model.task.rule(model.output);
  const engine = jsEngine(model);
  const idColumn = manifest.signature.id;
  const kept = keptColumns(idColumn ?? 'line', keepNames, columns.header);
  const header = [idColumn ?? 'line', ...kept, ...columns.header];
  assertNotInput(options.input, { '--output': options.output, '--rejects': rejects });
  await assertInputHas(options.input, manifest.reading, keepNames);
  const stream = streamPackageInput(model, options.input, { rejects, progress, extraColumns });
  // Written beside the target and renamed at the end: a failed run never leaves a truncated output.
  const partial = `${path.resolve(options.output)}.partial-${process.pid}`;
  const out = createWriteStream(partial);
  const buffered: { key: number; line: string }[] = [];
  let rowsScored = 0;
  let rowsFiltered = 0;
  const unseen = new Map<string, number>();
  progress.stage('score', { model: manifest.name, input: options.input });
  try {
    await write(out, `${header.map(csvCell).join(',')}\n`);
    for await (const chunk of stream) {
      const keep = filterRows(chunk.table, filters);
      rowsFiltered += chunk.table.nRows - keep.length;
      if (keep.length === 0) continue;
      const scored = await engine.score(chunk.table);
      const { scores, rowErrors } = scored;
      if (scored.unseen?.length) countUnseen(unseen, scored.unseen, keep, chunk.table.nRows);
      const ids = idColumn ? getColumn(chunk.table, idColumn).values : null;
      const keptValues = kept.map((name) => getColumn(chunk.table, name));
      let text = '';
      for (const i of keep) {
        const offset = i * width;
        const label = rule && !rowErrors.has(i) ? model.output.classes[decide(scores, offset, rule)] : null;
        const id = ids ? String(ids[i] ?? '') : String(chunk.lines[i]);
        const cells = [
          id,
          ...keptValues.map((c) => inputCell(c, i)),
          ...columns.cells(scores, offset, label),
        ];
        const line = `${cells.map(csvCell).join(',')}\n`;
        if (options.sort) buffered.push({ key: sortKey!(scores, offset), line });
        else text += line;
      }
      rowsScored += keep.length;
      if (text) await write(out, text);
    }
    if (options.sort) await writeSorted(out, buffered, options.sort);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  await commitOutput(out, partial, options.output);
  const data = stream.report();
  return {
    data,
    header,
    kept,
    rowsScored,
    rowsFiltered,
    rowsRejected: data.rowsRejected,
    rejectsPath: data.rejectsPath,
    unseen: Object.fromEntries(unseen),
  };
}

/** Adds the unseen values of the rows kept (not filtered out) to `counts`, by column. */
function countUnseen(
  counts: Map<string, number>,
  unseen: readonly UnseenValue[],
  keep: readonly number[],
  rows: number,
): void {
  const kept = keep.length === rows ? null : new Set(keep);
  for (const { row, column } of unseen)
    if (!kept || kept.has(row)) counts.set(column, (counts.get(column) ?? 0) + 1);
}

function filterRows(table: Table, filters: readonly RowFilter[]): number[] {
  const rows: number[] = [];
  const columns = filters.map((f) => ({
    filter: f,
    column: getColumn(table, f.column),
    wanted: normalizeWanted(f.value),
  }));
  for (let i = 0; i < table.nRows; i++) {
    let pass = true;
    for (const { filter, column, wanted } of columns) {
      const equal = cellText(column.type, column.values[i]) === wanted;
      if (equal !== (filter.op === '=')) {
        pass = false;
        break;
      }
    }
    if (pass) rows.push(i);
  }
  return rows;
}

const BOOLEAN_WORDS: Record<string, string> = { true: 'true', yes: 'true', false: 'false', no: 'false' };

/** Both sides of a comparison in one form: lower case, boolean words unified, numbers canonical. */
function normalizeWanted(value: string): string {
  const lower = value.trim().toLowerCase();
  if (BOOLEAN_WORDS[lower]) return BOOLEAN_WORDS[lower];
  return lower !== '' && Number.isFinite(Number(lower)) ? String(Number(lower)) : lower;
}

function cellText(type: string, value: unknown): string {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return '';
  if (type === 'boolean') return value ? 'true' : 'false';
  return normalizeWanted(String(value));
}

/** Refuses output paths that would overwrite the input being read. */
export function assertNotInput(input: string, outputs: Record<string, string>): void {
  const same = (a: string, b: string) => {
    if (path.resolve(a) === path.resolve(b)) return true;
    return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
  };
  for (const [flag, file] of Object.entries(outputs)) {
    if (same(input, file)) throw new Error(`${flag} ${file} is the input file; choose another path`);
  }
}

/** Writes the rows held back for sorting, ordered by their key. */
export async function writeSorted(
  out: WriteStream,
  buffered: { key: number; line: string }[],
  sort: 'desc' | 'asc',
): Promise<void> {
  const sign = sort === 'desc' ? -1 : 1;
  buffered.sort((a, b) => sign * (a.key - b.key));
  for (let start = 0; start < buffered.length; start += 10_000) {
    await write(
      out,
      buffered
        .slice(start, start + 10_000)
        .map((b) => b.line)
        .join(''),
    );
  }
}

/** Closes the output written beside its destination and moves it into place: no partial file. */
export async function commitOutput(out: WriteStream, partial: string, output: string): Promise<void> {
  out.end();
  await once(out, 'close');
  await rename(partial, output);
}

/** Writes and waits for the stream to drain when its buffer is full. */
export async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
