/**
 * Batch scoring through a running `kiln serve`: the input file is read and validated with Kiln's own
 * readers against the signature the server publishes (`GET /v1/models/{name}`), sent in batches of named
 * records to `POST /v1/models/{name}/predict` with a bounded number of requests in flight, and written in
 * input order as the same CSV `kiln predict --model <package>` writes (or only id and label).
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Parser } from 'csv-parse';
import type { ColumnSpec, SourceConfig } from '../config/schema.js';
import type { DataReport } from '../data/load.js';
import { streamTable } from '../data/load.js';
import { csvCell } from '../data/rejects.js';
import type { Column, Table } from '../data/table.js';
import { classificationTask, getTask, type Task, type TaskOutput } from '../tasks/index.js';
import { type Progress, silentProgress } from '../util/progress.js';
import { assertNotInput, commitOutput, write, writeSorted } from './batch.js';
import { assertInputHas, keptColumns } from './input-columns.js';
import { inputCell, predictionColumns } from './output.js';
import {
  detailLines,
  errorText,
  normalizeServerUrl,
  parseJson,
  RemoteScoringError,
  request,
} from './remote-http.js';

export { normalizeServerUrl, RemoteScoringError } from './remote-http.js';

/** What `GET /v1/models/{name}` answers (the fields used here). */
export interface ServedModelDescription {
  name: string;
  version: string;
  signature: { inputs: (ColumnSpec & { name: string })[]; id?: string };
  /** The package's task; servers before tasks served classification only. */
  task?: string;
  /** `target` when the server reports it (the labels-only header). */
  output: {
    classes: string[];
    positive?: string | null;
    threshold?: number | null;
    target?: string;
    dimensions?: number;
  };
  /** How the package reads a CSV (missing tokens, delimiter, renames), when the server reports it. */
  reading?: Omit<SourceConfig, 'path'>;
}

export interface RemotePredictOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:4002`. */
  server: string;
  /** Name of a model the server serves. */
  model: string;
  input: string;
  output: string;
  /** Where rows refused by the signature go, with one reason each. Default: `<output>.rejects.csv`. */
  rejects?: string;
  /** Records per request (default 256). */
  batchSize?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Write only `<id>,<target>` instead of id and every prediction column (label and probabilities). */
  labelsOnly?: boolean;
  /** Header of the label column with `labelsOnly` (default: the model's target, else `label`). */
  targetColumn?: string;
  /** Sort rows by the positive (binary) or predicted class's probability, or the predicted value. */
  sort?: 'desc' | 'asc';
  /** Input columns written after the id (or line), before the predictions; read here, never sent. */
  keep?: readonly string[];
  /** Sent as `Authorization: Bearer <key>` (servers started with --require-auth-for-predict). */
  apiKey?: string;
  /** Per request, including retries' waits (default 60 s). */
  requestTimeoutMs?: number;
  progress?: Progress;
}

export interface RemotePredictResult {
  data: DataReport;
  rowsScored: number;
  rowsRejected: number;
  rejectsPath: string | null;
  model: string;
  /** Every model version that answered, in the order first seen (more than one if it was swapped). */
  versions: string[];
  requests: number;
  /** The header written: id column (or `line`), kept columns, then label (or target) columns. */
  header: string[];
}

export const DEFAULT_BATCH_SIZE = 256;
export const DEFAULT_CONCURRENCY = 4;
const RETRIES = 3;

/**
 * The header a labels-only file gets: the model's id column (else `line`, the input's line numbers),
 * the kept input columns, then `targetColumn`, else the target the server reports, else `label`.
 */
export function labelsOnlyHeader(
  description: ServedModelDescription,
  targetColumn?: string,
  kept: readonly string[] = [],
): string[] {
  return [description.signature.id ?? 'line', ...kept, targetColumn ?? description.output.target ?? 'label'];
}

/** `GET /v1/models/{name}`: what the model takes and returns; clear errors when it is not there. */
export async function describeServedModel(
  server: string,
  model: string,
  options: { apiKey?: string; timeoutMs?: number } = {},
): Promise<ServedModelDescription> {
  const base = normalizeServerUrl(server);
  const url = `${base}/v1/models/${encodeURIComponent(model)}`;
  const response = await request(url, {
    method: 'GET',
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs,
  });
  if (response.status === 404)
    throw new RemoteScoringError(
      `the server at ${base} serves no model "${model}": ${errorText(response.body)}`,
    );
  if (response.status !== 200)
    throw new RemoteScoringError(`GET ${url} answered ${response.status}: ${errorText(response.body)}`);
  const described = parseJson(response.body, url) as Partial<ServedModelDescription>;
  if (
    !described ||
    typeof described.name !== 'string' ||
    !Array.isArray(described.signature?.inputs) ||
    !Array.isArray(described.output?.classes)
  )
    throw new RemoteScoringError(
      `GET ${url} did not answer a Kiln model description (is ${base} a kiln serve?)`,
    );
  return described as ServedModelDescription;
}

interface Batch {
  /** 1-based batch number, for messages. */
  index: number;
  records: Record<string, unknown>[];
  ids: string[];
  /** Per row, the kept input cells. */
  kept: string[][];
  lines: Int32Array;
}

interface Answer {
  version: string;
  /** The server's decided class per row (classification); null otherwise. */
  labels: (string | null)[];
  /** Row-major n x width, as the package's engine laid them out (class order for probabilities). */
  scores: Float64Array;
}

/** The task and output a description reports, read as the package's. */
export function describedTask(description: ServedModelDescription): { task: Task; output: TaskOutput } {
  const { classes, positive, threshold, target, dimensions } = description.output;
  const task = description.task ? getTask(description.task) : classificationTask(classes.length);
  return {
    task,
    output: {
      classes,
      ...(positive != null ? { positive } : {}),
      ...(threshold != null ? { threshold } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(dimensions !== undefined ? { dimensions } : {}),
    },
  };
}

/**
 * Scores a file through a running server. Rows the signature refuses are quarantined locally, as in
 * local mode; a request the server refuses stops the run with the server's reasons and the input lines
 * of the batch. The output is written beside its target and renamed at the end, so a failed run never
 * leaves a truncated file.
 */
export async function remotePredict(options: RemotePredictOptions): Promise<RemotePredictResult> {
  const progress = options.progress ?? silentProgress;
  const base = normalizeServerUrl(options.server);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RemoteScoringError(`--batch-size must be a whole number ≥ 1, got ${batchSize}`);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RemoteScoringError(`--concurrency must be a whole number ≥ 1, got ${concurrency}`);
  const rejects = options.rejects ?? `${options.output}.rejects.csv`;
  try {
    assertNotInput(options.input, { '--output': options.output, '--rejects': rejects });
  } catch (error) {
    throw new RemoteScoringError((error as Error).message);
  }
  const timeoutMs = options.requestTimeoutMs ?? 60_000;

  const described = await describeServedModel(base, options.model, { apiKey: options.apiKey, timeoutMs });
  const { inputs, id: idColumn } = described.signature;
  const { task, output } = describedTask(described);
  let columns: ReturnType<typeof predictionColumns>;
  try {
    columns = predictionColumns(task.name, output);
  } catch (error) {
    throw new RemoteScoringError((error as Error).message);
  }
  const { sortKey, width } = columns;
  if (options.sort && !sortKey)
    throw new RemoteScoringError(`--sort ranks by one number per row; a ${task.name} model has none`);
  if (options.labelsOnly && task.name === 'embedding')
    throw new RemoteScoringError('--labels-only: an embedding model predicts vectors, not labels');
  const schema: Record<string, ColumnSpec> = {};
  for (const { name, ...spec } of inputs) schema[name] = spec;
  if (idColumn) schema[idColumn] ??= { type: 'string', nullable: true };
  const keep = options.keep ?? [];
  for (const name of keep) schema[name] ??= { type: 'string', nullable: true };
  const written = options.labelsOnly ? labelsOnlyHeader(described, options.targetColumn) : columns.header;
  const kept = keptColumns(idColumn ?? 'line', keep, written);
  await assertInputHas(options.input, described.reading, keep);
  const header = options.labelsOnly
    ? labelsOnlyHeader(described, options.targetColumn, kept)
    : [idColumn ?? 'line', ...kept, ...columns.header];
  const predictUrl = `${base}/v1/models/${encodeURIComponent(described.name)}/predict`;

  const stream = streamTable(
    {
      // The package's reading settings when the server publishes them; else the defaults.
      source: { ...described.reading, path: path.resolve(options.input) },
      schema,
      onInvalid: 'quarantine',
      extraColumns: 'ignore',
    },
    {
      baseDir: process.cwd(),
      rejectsPath: path.resolve(rejects),
      onProgress: (rows) => progress.tick('rows', rows),
    },
  );

  const partial = `${path.resolve(options.output)}.partial-${process.pid}`;
  const out = createWriteStream(partial);
  const buffered: { key: number; line: string }[] = [];
  const versions: string[] = [];
  const abort = new AbortController();
  let rowsScored = 0;
  let requests = 0;
  let batchIndex = 0;
  const inFlight: { batch: Batch; answer: Promise<Answer> }[] = [];

  const send = async (batch: Batch): Promise<Answer> => {
    requests++;
    const first = batch.lines[0];
    const last = batch.lines[batch.lines.length - 1];
    const where = `rows at lines ${first}–${last} of ${options.input} (batch ${batch.index})`;
    const response = await request(predictUrl, {
      method: 'POST',
      body: JSON.stringify({ records: batch.records }),
      apiKey: options.apiKey,
      timeoutMs,
      signal: abort.signal,
      retries: RETRIES,
      onRetry: (reason) => progress.warn(`retrying batch ${batch.index}: ${reason}`),
    }).catch((error: Error) => {
      throw new RemoteScoringError(`${error.message} (while sending ${where})`);
    });
    if (response.status !== 200) {
      const detail = errorText(response.body);
      const lines = detailLines(response.body, batch.lines);
      const hint =
        response.status === 413
          ? ' (lower --batch-size, or raise the server’s --max-records / --max-body)'
          : response.status === 401
            ? ' (set KILN_API_KEY)'
            : '';
      throw new RemoteScoringError(
        `the server refused ${where}: ${response.status} ${detail}${lines}${hint}`,
      );
    }
    return parseAnswer(response.body, batch, task, output, predictUrl);
  };

  const writeAnswer = async ({ batch, answer }: (typeof inFlight)[number]): Promise<void> => {
    const result = await answer;
    if (!versions.includes(result.version)) {
      if (versions.length > 0)
        progress.warn(
          `the server swapped ${described.name} from version ${versions.at(-1)} to ${result.version} during scoring`,
        );
      versions.push(result.version);
    }
    let text = '';
    for (let i = 0; i < batch.records.length; i++) {
      const offset = i * width;
      const cells = columns.cells(result.scores, offset, result.labels[i]);
      const row = [batch.ids[i], ...batch.kept[i], ...(options.labelsOnly ? cells.slice(0, 1) : cells)];
      const line = `${row.map(csvCell).join(',')}\n`;
      if (options.sort) buffered.push({ key: sortKey!(result.scores, offset), line });
      else text += line;
    }
    rowsScored += batch.records.length;
    progress.tick('scored', rowsScored);
    if (text) await write(out, text);
  };

  progress.stage('score', {
    model: described.name,
    version: described.version,
    server: base,
    input: options.input,
  });
  try {
    await write(out, `${header.map(csvCell).join(',')}\n`);
    for await (const chunk of stream) {
      const { table } = chunk;
      const ids = idColumn ? (table.columns.get(idColumn)!.values as (string | null)[]) : null;
      const keptValues = kept.map((name) => table.columns.get(name)!);
      for (let start = 0; start < table.nRows; start += batchSize) {
        const end = Math.min(start + batchSize, table.nRows);
        const batch: Batch = {
          index: ++batchIndex,
          records: recordsOf(table, inputs, start, end),
          ids: Array.from({ length: end - start }, (_, i) =>
            ids ? String(ids[start + i] ?? '') : String(chunk.lines[start + i]),
          ),
          kept: Array.from({ length: end - start }, (_, i) =>
            keptValues.map((column) => inputCell(column, start + i)),
          ),
          lines: chunk.lines.subarray(start, end),
        };
        const answer = send(batch);
        // Handled when its turn comes; this keeps a failure while an earlier batch is awaited from
        // surfacing as an unhandled rejection.
        answer.catch(() => {});
        inFlight.push({ batch, answer });
        while (inFlight.length >= concurrency) await writeAnswer(inFlight.shift()!);
      }
    }
    while (inFlight.length > 0) await writeAnswer(inFlight.shift()!);
    if (options.sort) await writeSorted(out, buffered, options.sort);
  } catch (error) {
    abort.abort();
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  await commitOutput(out, partial, options.output);
  const data = stream.report();
  return {
    data,
    rowsScored,
    rowsRejected: data.rowsRejected,
    rejectsPath: data.rejectsPath,
    model: described.name,
    versions,
    requests,
    header,
  };
}

/**
 * Rewrites a full prediction file (id, kept columns, label, p_...) as its first `header.length`
 * columns (id, kept columns and label) under `header`: the labels-only output of local mode, from
 * what `batchPredict` wrote.
 */
export async function keepLabelsOnly(full: string, output: string, header: string[]): Promise<void> {
  const partial = `${path.resolve(output)}.partial-${process.pid}`;
  const out = createWriteStream(partial);
  try {
    await write(out, `${header.map(csvCell).join(',')}\n`);
    const parser = createReadStream(full).pipe(new Parser({ from_line: 2, relax_column_count: false }));
    let text = '';
    for await (const record of parser as AsyncIterable<string[]>) {
      text += `${record.slice(0, header.length).map(csvCell).join(',')}\n`;
      if (text.length > 1 << 16) {
        await write(out, text);
        text = '';
      }
    }
    if (text) await write(out, text);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  out.end();
  await once(out, 'close');
  await rename(partial, output);
}

/** Rows [start, end) of a validated table as the JSON records the server's signature takes. */
function recordsOf(
  table: Table,
  inputs: readonly { name: string }[],
  start: number,
  end: number,
): Record<string, unknown>[] {
  const columns = inputs.map(({ name }) => [name, table.columns.get(name)!] as [string, Column]);
  const records: Record<string, unknown>[] = [];
  for (let i = start; i < end; i++) {
    const record: Record<string, unknown> = {};
    for (const [name, column] of columns) record[name] = jsonValue(column, i);
    records.push(record);
  }
  return records;
}

/** A cell as the server reads it: numbers, booleans, ISO datetimes and strings; null when missing. */
function jsonValue(column: Column, i: number): unknown {
  const value = column.values[i];
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number') return value;
  if (Number.isNaN(value)) return null;
  if (column.type === 'boolean') return value === 1;
  if (column.type === 'datetime') return new Date(value).toISOString();
  return value;
}

function parseAnswer(body: string, batch: Batch, task: Task, output: TaskOutput, url: string): Answer {
  const json = parseJson(body, url) as { version?: unknown; predictions?: Record<string, unknown>[] };
  const predictions = json?.predictions;
  if (!Array.isArray(predictions) || predictions.length !== batch.records.length)
    throw new RemoteScoringError(
      `POST ${url} answered ${Array.isArray(predictions) ? predictions.length : 'no'} predictions for ${batch.records.length} records (batch ${batch.index})`,
    );
  const width = task.width(output);
  const scores = new Float64Array(predictions.length * width).fill(Number.NaN);
  const number = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
  const classification = task.rule(output) !== undefined;
  const labels = predictions.map((p, i) => {
    if (classification) {
      const probabilities = (p?.probabilities ?? {}) as Record<string, unknown>;
      for (let c = 0; c < width; c++) scores[i * width + c] = number(probabilities[output.classes[c]]);
      return typeof p?.label === 'string' ? p.label : '';
    }
    if (task.name === 'regression') scores[i] = number(p?.value);
    else if (Array.isArray(p?.embedding))
      for (let c = 0; c < width; c++) scores[i * width + c] = number(p.embedding[c]);
    return null;
  });
  return { version: String(json.version ?? ''), labels, scores };
}
