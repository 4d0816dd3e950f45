/**
 * KServe Open Inference Protocol v2, REST (https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol):
 * one input tensor per signature column (a sequence column: FP64 [n, timesteps] or [n, timesteps,
 * fields], every row as long; a blob column: BYTES [n] of base64 strings); outputs by the package's
 * task: classification `label` (BYTES [n]) and `probabilities` (FP64 [n, k]), regression `value` (FP64
 * [n]), embeddings `embedding` (FP64 [n, d]); plus `prediction_id` (BYTES [n]) when asked for, and
 * `warnings` ([{row, field, reason}]) beside the outputs when a row scored a value unseen in training.
 * Errors are `{"error": "..."}` as the protocol says (with `details`, the per-field list, beside it).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type Column, makeColumn } from '../../../data/table.js';
import { kilnVersion } from '../../../util/provenance.js';
import { logPredictions, type ServerContext, sendInvalid, sendTooMany } from '../context.js';
import { type LiveModel, positionalWarnings, predictTable, type Scored } from '../predict.js';
import { type ColumnRule, type FieldError, tensorToColumn } from '../validation.js';

const NUMERIC_TYPES = [
  'FP16',
  'FP32',
  'FP64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
];
const INTEGER_TYPES = NUMERIC_TYPES.filter((t) => t.includes('INT'));

function datatypeOf(rule: ColumnRule): string {
  if (rule.spec.type === 'number' || rule.spec.type === 'sequence') return 'FP64';
  if (rule.spec.type === 'integer') return 'INT64';
  if (rule.spec.type === 'boolean') return 'BOOL';
  return 'BYTES';
}

function accepts(rule: ColumnRule, datatype: string): boolean {
  if (rule.spec.type === 'number' || rule.spec.type === 'sequence') return NUMERIC_TYPES.includes(datatype);
  if (rule.spec.type === 'integer') return INTEGER_TYPES.includes(datatype) || datatype.startsWith('FP');
  if (rule.spec.type === 'boolean') return datatype === 'BOOL';
  return datatype === 'BYTES';
}

/** The input tensor a signature column takes: its name, datatype and shape (-1: any size). */
export function inputOf(rule: ColumnRule): { name: string; datatype: string; shape: number[] } {
  const shape = rule.spec.type !== 'sequence' ? [-1] : rule.spec.fields ? [-1, -1, rule.width] : [-1, -1];
  return { name: rule.name, datatype: datatypeOf(rule), shape };
}

/** One output tensor of the infer response: its name, type, values per row (1: shape [n]). */
export interface OutputSpec {
  readonly name: string;
  readonly datatype: 'BYTES' | 'FP64';
  readonly width: number;
  /** Sent when the request names no outputs. */
  readonly byDefault: boolean;
  data(scored: Scored): unknown[];
}

const PREDICTION_ID: OutputSpec = {
  name: 'prediction_id',
  datatype: 'BYTES',
  width: 1,
  byDefault: false,
  data: (scored) => scored.ids,
};

const scores = (scored: Scored) => Array.from(scored.scores);

/** The outputs of a model's task, in order. */
function taskOutputs(live: LiveModel): readonly OutputSpec[] {
  const { width } = live;
  if (live.rule)
    return [
      { name: 'label', datatype: 'BYTES', width: 1, byDefault: true, data: (scored) => scored.labels ?? [] },
      { name: 'probabilities', datatype: 'FP64', width, byDefault: true, data: scores },
      PREDICTION_ID,
    ];
  if (live.task.name === 'regression')
    return [{ name: 'value', datatype: 'FP64', width: 1, byDefault: true, data: scores }, PREDICTION_ID];
  return [{ name: live.task.name, datatype: 'FP64', width, byDefault: true, data: scores }, PREDICTION_ID];
}

const outputsCache = new WeakMap<LiveModel, readonly OutputSpec[]>();

/** The v2 outputs a live model answers (its task's), each built once per model. */
export function outputsOf(live: LiveModel): readonly OutputSpec[] {
  let outputs = outputsCache.get(live);
  if (!outputs) {
    outputs = taskOutputs(live);
    outputsCache.set(live, outputs);
  }
  return outputs;
}

const shapeOf = (output: OutputSpec, n: number) => (output.width === 1 ? [n] : [n, output.width]);

function metadata(live: LiveModel) {
  return {
    name: live.model.name,
    versions: [live.model.version],
    platform: 'kiln',
    inputs: live.signature.columns.map(inputOf),
    outputs: outputsOf(live).map((o) => ({ name: o.name, datatype: o.datatype, shape: shapeOf(o, -1) })),
    parameters: { task: live.task.name, classes: live.classes },
  };
}

interface InferRequest {
  id?: unknown;
  inputs?: unknown;
  outputs?: unknown;
}

interface Tensor {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  data?: unknown;
}

export function v2Routes(context: ServerContext) {
  return async (app: FastifyInstance): Promise<void> => {
    const predictAuth = context.requireAuthForPredict ? [context.keys.require] : [];
    const model = (name: string, version: string | undefined, reply: FastifyReply): LiveModel | undefined => {
      const live = context.models.get(name);
      if (!live || (version !== undefined && version !== live.model.version)) {
        reply.code(404).send({
          error: live
            ? `model "${name}" has no version "${version}" (serving ${live.model.version})`
            : `no model named "${name}" is served`,
        });
        return undefined;
      }
      return live;
    };

    app.get('/v2', async () => ({ name: 'kiln', version: kilnVersion(), extensions: [] }));
    app.get('/v2/health/live', { config: { rateLimit: false } }, async () => ({ live: true }));
    // The protocol answers "not ready" with a 4xx status.
    app.get('/v2/health/ready', { config: { rateLimit: false } }, async (_request, reply) =>
      reply.code(context.ready() ? 200 : 400).send({ ready: context.ready() }),
    );

    type Params = { name: string; version?: string };
    for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
      app.get<{ Params: Params }>(prefix, async (request, reply) => {
        const live = model(request.params.name, request.params.version, reply);
        return live ? metadata(live) : reply;
      });
      app.get<{ Params: Params }>(`${prefix}/ready`, async (request, reply) => {
        const live = model(request.params.name, request.params.version, reply);
        return live ? { name: live.model.name, ready: true } : reply;
      });
      app.post<{ Params: Params }>(`${prefix}/infer`, { onRequest: predictAuth }, async (request, reply) => {
        const live = model(request.params.name, request.params.version, reply);
        if (!live) return reply;
        const body = request.body as InferRequest | null;
        if (typeof body !== 'object' || body === null || !Array.isArray(body.inputs))
          return reply
            .code(400)
            .send({ error: 'the body must be {"inputs": [{"name", "shape", "datatype", "data"}, ...]}' });
        const wanted = requestedOutputs(live, body.outputs);
        if (typeof wanted === 'string') return reply.code(400).send({ error: wanted });
        const parsed = tensorsToTable(live, body.inputs as unknown[]);
        if ('errors' in parsed) return sendInvalid(reply, parsed.errors);
        if (parsed.n === 0) return reply.code(400).send({ error: 'no rows to predict (shape[0] is 0)' });
        if (parsed.n > context.maxRecords) return sendTooMany(reply, parsed.n, context.maxRecords);
        const startedAt = performance.now();
        const outcome = await predictTable(
          live,
          { nRows: parsed.n, columns: parsed.columns },
          (i) => `/inputs/*/data/${i}`,
          context.predict,
        );
        if (!outcome.ok) return sendInvalid(reply, outcome.errors, outcome.omitted);
        const { scored } = outcome;
        const n = parsed.n;
        const outputs = wanted.map((o) => ({
          name: o.name,
          datatype: o.datatype,
          shape: shapeOf(o, n),
          data: o.data(scored),
        }));
        const room = logPredictions(context, live, scored, startedAt);
        if (room) await room;
        reply.send({
          model_name: live.model.name,
          model_version: live.model.version,
          id: typeof body.id === 'string' ? body.id : randomUUID(),
          outputs,
          ...positionalWarnings(scored),
        });
        return reply;
      });
    }
  };
}

/** The `outputs` request field → the task's outputs it names (default: the task's prediction). */
function requestedOutputs(live: LiveModel, outputs: unknown): readonly OutputSpec[] | string {
  const known = outputsOf(live);
  if (outputs === undefined) return known.filter((o) => o.byDefault);
  if (!Array.isArray(outputs)) return '"outputs" must be a list of {"name": ...}';
  const names = new Set<string>();
  for (const o of outputs) {
    const name = (o as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !known.some((k) => k.name === name))
      return `unknown output ${JSON.stringify(name)} (outputs: ${known.map((k) => k.name).join(', ')})`;
    names.add(name);
  }
  return known.filter((o) => names.has(o.name));
}

function tensorsToTable(
  live: LiveModel,
  inputs: readonly unknown[],
): { n: number; columns: Map<string, Column> } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const { columns: rules, index } = live.signature;
  const byColumn = new Array<Column | undefined>(rules.length);
  // Named by a tensor, valid or not: a bad tensor is not also reported as missing.
  const given = new Array<boolean>(rules.length).fill(false);
  let n = -1;
  inputs.forEach((raw, t) => {
    const path = `/inputs/${t}`;
    const tensor = raw as Tensor | null;
    if (typeof tensor !== 'object' || tensor === null) {
      errors.push({ path, reason: 'expected a tensor {"name", "shape", "datatype", "data"}' });
      return;
    }
    const j = typeof tensor.name === 'string' ? index.get(tensor.name) : undefined;
    if (j === undefined) {
      errors.push({
        path: `${path}/name`,
        reason: `${JSON.stringify(tensor.name)} is not an input of the model (inputs: ${rules.map((r) => r.name).join(', ')})`,
      });
      return;
    }
    const rule = rules[j];
    if (given[j]) {
      errors.push({ path: `${path}/name`, reason: `input "${rule.name}" is given twice` });
      return;
    }
    given[j] = true;
    if (typeof tensor.datatype !== 'string' || !accepts(rule, tensor.datatype))
      errors.push({
        path: `${path}/datatype`,
        reason: `${rule.name}: datatype ${JSON.stringify(tensor.datatype)} does not fit a ${rule.spec.type} column (use ${datatypeOf(rule)})`,
      });
    const data = tensorRows(rule, tensor, path, errors);
    if (data === null) return;
    const rows = data.length;
    if (n === -1) n = rows;
    else if (rows !== n) {
      errors.push({ path: `${path}/shape`, reason: `${rule.name}: ${rows} rows, other inputs have ${n}` });
      return;
    }
    byColumn[j] = makeColumn(rule.spec.type, tensorToColumn(rule, data, `${path}/data`, errors), rule.width);
  });
  if (n === -1) n = 0;
  const columns = new Map<string, Column>();
  rules.forEach((rule, j) => {
    let column = byColumn[j];
    if (column === undefined) {
      if (!rule.nullable && !given[j])
        errors.push({ path: '/inputs', reason: `missing input tensor "${rule.name}" (required)` });
      const values = rule.numeric ? new Float64Array(n).fill(Number.NaN) : new Array(n).fill(null);
      column = makeColumn(rule.spec.type, values, rule.width);
    }
    columns.set(rule.name, column);
  });
  return errors.length > 0 ? { errors } : { n, columns };
}

/**
 * A tensor's values per row, as the record routes would take them: one value per row ([n] or [n, 1]),
 * or, for a sequence column, its timesteps ([n, t] with one number per timestep, [n, t, width] with
 * `fields`: every row the same length), nested per row so element errors point at data/<row>/<t>/<k>.
 * Data may be flat (row-major) or nested as the shape. Null (with errors) when the tensor does not fit.
 */
function tensorRows(rule: ColumnRule, tensor: Tensor, path: string, errors: FieldError[]): unknown[] | null {
  const { shape } = tensor;
  const sequence = rule.spec.type === 'sequence';
  const expected = sequence
    ? rule.width === 1 && !rule.spec.fields
      ? '[n, timesteps]'
      : `[n, timesteps, ${rule.width}]`
    : '[n] or [n, 1]';
  const fits =
    Array.isArray(shape) &&
    shape.every((size) => Number.isInteger(size) && size >= 0) &&
    (sequence
      ? expected === '[n, timesteps]'
        ? shape.length === 2
        : shape.length === 3 && shape[2] === rule.width
      : shape.length === 1 || (shape.length === 2 && shape[1] === 1));
  if (!fits) {
    errors.push({
      path: `${path}/shape`,
      reason: `${rule.name}: expected shape ${expected}, got ${JSON.stringify(shape)}`,
    });
    return null;
  }
  if (!Array.isArray(tensor.data)) {
    errors.push({ path: `${path}/data`, reason: `${rule.name}: expected a list of values` });
    return null;
  }
  const sizes = shape as number[];
  const rows = sizes[0];
  const perRow = sizes.slice(1).reduce((a, b) => a * b, 1);
  const flat: unknown[] = tensor.data.flat(sizes.length);
  if (flat.length !== rows * (sequence ? perRow : 1)) {
    errors.push({
      path: `${path}/data`,
      reason: `${rule.name}: ${flat.length} values for shape ${JSON.stringify(shape)}`,
    });
    return null;
  }
  if (!sequence) return flat;
  const width = sizes.length === 3 ? sizes[2] : 1;
  return Array.from({ length: rows }, (_, i) => {
    const row = flat.slice(i * perRow, (i + 1) * perRow);
    if (sizes.length === 2) return row;
    return Array.from({ length: sizes[1] }, (_, t) => row.slice(t * width, (t + 1) * width));
  });
}
