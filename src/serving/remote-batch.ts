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
import { type Progress, silentProgress } from '../util/progress.js';
import { assertNotInput, commitOutput, formatProbability, write, writeSorted } from './batch.js';

/** What `GET /v1/models/{name}` answers (the fields used here). */
export interface ServedModelDescription {
  name: string;
  version: string;
  signature: { inputs: (ColumnSpec & { name: string })[]; id?: string };
  /** `target` when the server reports it (the labels-only header). */
  output: { classes: string[]; positive?: string | null; target?: string };
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
  /** Write only `<id>,<target>` instead of id, label and one probability column per class. */
  labelsOnly?: boolean;
  /** Header of the label column with `labelsOnly` (default: the model's target, else `label`). */
  targetColumn?: string;
  /** Sort rows by the positive (binary) or predicted class's probability. */
  sort?: 'desc' | 'asc';
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
  /** The header written: id column (or `line`), then label (or target) columns. */
  header: string[];
}

export const DEFAULT_BATCH_SIZE = 256;
export const DEFAULT_CONCURRENCY = 4;
const RETRIES = 3;

/** The server cannot be reached, refuses a request, or answers something unexpected. */
export class RemoteScoringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteScoringError';
  }
}

/** `http://host:port[/prefix]` without a trailing slash; anything else is refused. */
export function normalizeServerUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new RemoteScoringError(`--server ${server} is not a URL (e.g. http://127.0.0.1:4002)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RemoteScoringError(`--server ${server}: expected an http:// or https:// URL`);
  if (url.username || url.password)
    throw new RemoteScoringError('--server must not carry credentials: set KILN_API_KEY instead');
  if (url.search || url.hash)
    throw new RemoteScoringError(`--server ${server}: no query or fragment expected`);
  return url.href.replace(/\/+$/, '');
}

/**
 * The header a labels-only file gets: the model's id column (else `line`, the input's line numbers),
 * then `targetColumn`, else the target the server reports, else `label`.
 */
export function labelsOnlyHeader(description: ServedModelDescription, targetColumn?: string): string[] {
  return [description.signature.id ?? 'line', targetColumn ?? description.output.target ?? 'label'];
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
  lines: Int32Array;
}

interface Answer {
  version: string;
  labels: string[];
  /** Row-major n x k in the description's class order. */
  proba: Float64Array;
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
  const { classes } = described.output;
  const schema: Record<string, ColumnSpec> = {};
  for (const { name, ...spec } of inputs) schema[name] = spec;
  if (idColumn) schema[idColumn] ??= { type: 'string', nullable: true };
  const header = options.labelsOnly
    ? labelsOnlyHeader(described, options.targetColumn)
    : [idColumn ?? 'line', 'label', ...classes.map((c) => `p_${c}`)];
  const positive = described.output.positive ?? undefined;
  const sortClass = positive === undefined ? -1 : classes.indexOf(positive);
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
    return parseAnswer(response.body, batch, classes, predictUrl);
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
    const k = classes.length;
    let text = '';
    for (let i = 0; i < batch.records.length; i++) {
      const probabilities = result.proba.subarray(i * k, (i + 1) * k);
      const cells = options.labelsOnly
        ? [batch.ids[i], result.labels[i]]
        : [batch.ids[i], result.labels[i], ...Array.from(probabilities, formatProbability)];
      const line = `${cells.map(csvCell).join(',')}\n`;
      if (options.sort) {
        const key = sortClass >= 0 ? probabilities[sortClass] : Math.max(...probabilities);
        buffered.push({ key, line });
      } else text += line;
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
      for (let start = 0; start < table.nRows; start += batchSize) {
        const end = Math.min(start + batchSize, table.nRows);
        const batch: Batch = {
          index: ++batchIndex,
          records: recordsOf(table, inputs, start, end),
          ids: Array.from({ length: end - start }, (_, i) =>
            ids ? String(ids[start + i] ?? '') : String(chunk.lines[start + i]),
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
 * Rewrites a full prediction file (id, label, p_...) as id and label only, under `header`: the
 * labels-only output of local mode, from what `batchPredict` wrote.
 */
export async function keepLabelsOnly(full: string, output: string, header: string[]): Promise<void> {
  const partial = `${path.resolve(output)}.partial-${process.pid}`;
  const out = createWriteStream(partial);
  try {
    await write(out, `${header.map(csvCell).join(',')}\n`);
    const parser = createReadStream(full).pipe(new Parser({ from_line: 2, relax_column_count: false }));
    let text = '';
    for await (const record of parser as AsyncIterable<string[]>) {
      text += `${csvCell(record[0])},${csvCell(record[1])}\n`;
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

function parseAnswer(body: string, batch: Batch, classes: readonly string[], url: string): Answer {
  const json = parseJson(body, url) as {
    version?: unknown;
    predictions?: { label?: unknown; probabilities?: Record<string, unknown> }[];
  };
  const predictions = json?.predictions;
  if (!Array.isArray(predictions) || predictions.length !== batch.records.length)
    throw new RemoteScoringError(
      `POST ${url} answered ${Array.isArray(predictions) ? predictions.length : 'no'} predictions for ${batch.records.length} records (batch ${batch.index})`,
    );
  const k = classes.length;
  const proba = new Float64Array(predictions.length * k);
  const labels = predictions.map((p, i) => {
    for (let c = 0; c < k; c++) {
      const value = p.probabilities?.[classes[c]];
      proba[i * k + c] = typeof value === 'number' ? value : Number.NaN;
    }
    return typeof p.label === 'string' ? p.label : '';
  });
  return { version: String(json.version ?? ''), labels, proba };
}

interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * One HTTP exchange with retries on what a retry can fix: connection failures, 429 (after its
 * Retry-After, at most 10 s) and 502/503/504, with backoff. Network failures become a message that
 * names the server and what to check.
 */
async function request(
  url: string,
  options: {
    method: 'GET' | 'POST';
    body?: string;
    apiKey?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
    retries?: number;
    onRetry?: (reason: string) => void;
  },
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const retries = options.retries ?? 0;
  for (let attempt = 0; ; attempt++) {
    let reason: string;
    let waitMs = 250 * 2 ** attempt;
    try {
      const signals = [AbortSignal.timeout(options.timeoutMs ?? 60_000)];
      if (options.signal) signals.push(options.signal);
      const response = await fetch(url, {
        method: options.method,
        headers,
        body: options.body,
        signal: AbortSignal.any(signals),
      });
      const body = await response.text();
      const retryable = response.status === 429 || (response.status >= 502 && response.status <= 504);
      if (!retryable || attempt >= retries) return { status: response.status, body };
      reason = `${response.status} ${errorText(body)}`;
      const after = Number(response.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) waitMs = Math.min(after * 1000, 10_000);
    } catch (error) {
      if (options.signal?.aborted) throw new RemoteScoringError('cancelled');
      reason = networkReason(error, options.timeoutMs ?? 60_000);
      if (attempt >= retries)
        throw new RemoteScoringError(
          `cannot reach the Kiln server at ${new URL(url).origin}: ${reason}; is \`kiln serve\` running there?`,
        );
    }
    options.onRetry?.(reason);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

function networkReason(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const code = err?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'unknown host';
  if (code) return `${code}${err.cause?.message ? ` (${err.cause.message})` : ''}`;
  return err?.cause?.message ?? err?.message ?? String(error);
}

function parseJson(body: string, url: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new RemoteScoringError(`${url} did not answer JSON: ${body.slice(0, 200)}`);
  }
}

/** The `error` of a JSON error body, else the body's start. */
function errorText(body: string): string {
  try {
    const json = JSON.parse(body) as { error?: unknown };
    if (typeof json?.error === 'string') return json.error;
  } catch {
    // not JSON: shown as it is
  }
  const text = body.trim();
  return text.length > 300 ? `${text.slice(0, 300)}...` : text || '(empty body)';
}

/** The rows the server's field errors name (`/records/<i>/...`), as input line numbers. */
function detailLines(body: string, lines: Int32Array): string {
  let details: { path?: unknown }[] = [];
  try {
    const json = JSON.parse(body) as { details?: unknown };
    if (Array.isArray(json?.details)) details = json.details as { path?: unknown }[];
  } catch {
    return '';
  }
  const named = new Set<number>();
  for (const { path } of details) {
    const m = typeof path === 'string' ? /^\/records\/(\d+)/.exec(path) : null;
    if (m && Number(m[1]) < lines.length) named.add(lines[Number(m[1])]);
  }
  if (named.size === 0) return '';
  const list = [...named].sort((a, b) => a - b);
  return ` [input line${list.length === 1 ? '' : 's'} ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', ...' : ''}]`;
}
