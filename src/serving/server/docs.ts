/**
 * The OpenAPI 3 document, generated from the served models' signatures (one request schema per model),
 * not from route schemas: validation happens in `validation.ts` so its errors list every bad field.
 * @fastify/swagger serves this object by reference, so `refresh` (after every swap) is what it shows.
 */
import { type ColumnSpec, DEFAULT_BLOB_MAX_BYTES } from '../../config/schema.js';
import { formatBytes } from '../../data/blob-cell.js';
import type { LegacyRoute } from './config.js';
import type { LiveModel } from './predict.js';
import { inputOf, outputsOf } from './routes/v2.js';
import type { ColumnRule } from './validation.js';

type Schema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Schema>;
  components: { schemas: Record<string, Schema>; securitySchemes?: Record<string, Schema> };
}

export function emptyDocument(version: string): OpenApiDocument {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Kiln prediction service',
      version,
      description:
        'Predictions from Kiln model packages. Records are validated against each model signature; a 400 lists every bad field with its JSON Pointer path.',
    },
    paths: {},
    components: { schemas: {} },
  };
}

function columnSchema(spec: ColumnSpec): Schema {
  if (spec.type === 'sequence') return sequenceSchema(spec);
  if (spec.type === 'blob') return blobSchema(spec);
  const schema: Schema = {};
  if (spec.type === 'number') schema.type = 'number';
  else if (spec.type === 'integer') schema.type = 'integer';
  else if (spec.type === 'boolean') schema.type = 'boolean';
  else {
    schema.type = 'string';
    if (spec.type === 'datetime') schema.format = 'date-time';
    if (spec.values) schema.enum = spec.values;
  }
  if (spec.min !== undefined) schema.minimum = spec.min;
  if (spec.max !== undefined) schema.maximum = spec.max;
  return described(schema, spec);
}

function described(schema: Schema, spec: ColumnSpec, about?: string): Schema {
  if (spec.nullable) schema.nullable = true;
  const text = [spec.description, about].filter(Boolean).join(' ');
  if (text) schema.description = text;
  return schema;
}

/** A sequence field: an array of timesteps, each a number, or an array / object of the `fields`. */
function sequenceSchema(spec: ColumnSpec): Schema {
  const number: Schema = { type: 'number' };
  if (spec.min !== undefined) number.minimum = spec.min;
  if (spec.max !== undefined) number.maximum = spec.max;
  const { fields } = spec;
  const timestep: Schema = fields
    ? {
        oneOf: [
          { type: 'array', items: number, minItems: fields.length, maxItems: fields.length },
          {
            type: 'object',
            required: fields,
            properties: Object.fromEntries(fields.map((field) => [field, number])),
            additionalProperties: false,
          },
        ],
      }
    : number;
  const schema: Schema = { type: 'array', items: timestep };
  if (spec.length?.min !== undefined) schema.minItems = spec.length.min;
  if (spec.length?.max !== undefined) schema.maxItems = spec.length.max;
  const each = fields
    ? `each [${fields.join(', ')}] or {${fields.map((f) => `"${f}": …`).join(', ')}}`
    : 'each a number';
  return described(schema, spec, `Timesteps, ${each}.`);
}

/** A blob field: base64 (or a base64 data URL), limited in decoded size and, if declared, media type. */
function blobSchema(spec: ColumnSpec): Schema {
  const limit = formatBytes(spec.maxBytes ?? DEFAULT_BLOB_MAX_BYTES);
  const types = spec.mediaTypes ? `; ${spec.mediaTypes.join(', ')}` : '';
  return described(
    { type: 'string', format: 'byte' },
    spec,
    `Base64 bytes (or a data: URL with ;base64), at most ${limit} decoded${types}.`,
  );
}

const ERROR = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    details: {
      type: 'array',
      description: 'The first problems (at most 100), each path and reason clipped to 200 characters.',
      items: { type: 'object', properties: { path: { type: 'string' }, reason: { type: 'string' } } },
    },
    omitted: { type: 'integer', description: 'Problems found beyond those listed in details.' },
  },
};

/** A value the model scored without having seen it in training (the package ignores unseen levels). */
const WARNING = {
  type: 'object',
  required: ['field', 'reason'],
  properties: {
    field: { type: 'string', description: 'The input field' },
    reason: {
      type: 'string',
      example: 'unseen level "PR": scored as no level seen in training',
    },
  },
};

const WARNINGS = {
  type: 'array',
  description:
    "Present only when the record had a value unseen in training, which the package's feature steps score anyway (unseen: 'ignore'); a package that refuses them (unseen: 'error') answers 400 instead. Counted in kiln_unseen_levels_total.",
};

/** `warnings` beside the predictions of the positional and v2 responses: each names its row. */
const ROW_WARNINGS = {
  ...WARNINGS,
  items: {
    ...WARNING,
    required: ['row', ...WARNING.required],
    properties: { row: { type: 'integer', description: 'The row, from 0' }, ...WARNING.properties },
  },
};

const json = (schema: Schema) => ({ content: { 'application/json': { schema } } });

/** Rebuilds paths and schemas in place from the live models. */
export function refreshDocument(
  doc: OpenApiDocument,
  models: readonly LiveModel[],
  legacyRoutes: readonly LegacyRoute[],
  policy: { extraFields: 'reject' | 'ignore'; openFeedback: boolean },
): void {
  const { extraFields } = policy;
  const schemas: Record<string, Schema> = {
    Error: ERROR,
    InstancePredictions: {
      type: 'object',
      description: 'The answer to {"instances": [[...]]}: one entry of predictions per instance.',
      properties: {
        predictions: { type: 'array' },
        prediction_ids: { type: 'array', items: { type: 'string' } },
        warnings: ROW_WARNINGS,
      },
    },
  };
  const paths: Record<string, Schema> = {};
  const errorResponses = {
    400: {
      description: 'Invalid request: every bad field with its path',
      ...json({ $ref: '#/components/schemas/Error' }),
    },
    404: { description: 'Unknown model', ...json({ $ref: '#/components/schemas/Error' }) },
    413: {
      description: 'Body or record count over the limit',
      ...json({ $ref: '#/components/schemas/Error' }),
    },
  };
  for (const live of models) {
    const { name, version } = live.model;
    const record = `${name}.Record`;
    const columns = live.signature.columns;
    schemas[record] = {
      type: 'object',
      description: `One input record of ${name}; null means missing.`,
      properties: Object.fromEntries(columns.map((c) => [c.name, columnSchema(c.spec)])),
      required: columns.filter((c) => !c.spec.nullable).map((c) => c.name),
      additionalProperties: extraFields === 'ignore',
    };
    // One prediction as the package's task presents it, with its id.
    const prediction = live.task.schema(live.output) as {
      required?: string[];
      properties?: Record<string, Schema>;
    };
    schemas[`${name}.Prediction`] = {
      ...prediction,
      type: 'object',
      description: `One ${live.task.name} prediction: ${live.task.description}`,
      required: ['prediction_id', ...(prediction.required ?? [])],
      properties: {
        prediction_id: { type: 'string', format: 'uuid' },
        ...prediction.properties,
        warnings: { ...WARNINGS, items: WARNING },
      },
    };
    schemas[`${name}.Predictions`] = {
      type: 'object',
      properties: {
        model: { type: 'string' },
        version: { type: 'string', example: version },
        predictions: { type: 'array', items: { $ref: `#/components/schemas/${name}.Prediction` } },
      },
    };
    const ref = (s: string) => ({ $ref: `#/components/schemas/${s}` });
    const instances = {
      type: 'object',
      required: ['instances'],
      description: `Positional rows in signature order: ${columns.map((c) => c.name).join(', ')}`,
      properties: { instances: { type: 'array', items: { type: 'array' } } },
    };
    paths[`/v1/models/${name}/predict`] = {
      post: {
        summary: `Predict with ${name}`,
        description: `A record, a list of records, {"records": [...]} (answered with the predictions envelope), or {"instances": [[...]]} in signature order (answered with ${instancesAnswer(live)}).`,
        tags: [name],
        requestBody: {
          required: true,
          ...json({
            oneOf: [
              ref(record),
              { type: 'array', items: ref(record) },
              {
                type: 'object',
                required: ['records'],
                properties: { records: { type: 'array', items: ref(record) } },
              },
              instances,
            ],
          }),
        },
        responses: {
          200: {
            description: 'One prediction per record (or per instance, with row warnings beside them)',
            ...json({ oneOf: [ref(`${name}.Predictions`), ref('InstancePredictions')] }),
          },
          ...errorResponses,
        },
      },
    };
    // The label a feedback carries is what the task predicts: a class, a value, a list of labels.
    const label = feedbackLabelSchema(prediction.properties ?? {});
    if (label)
      paths[`/v1/models/${name}/feedback`] = {
        post: {
          summary: `Report the true label of a past ${name} prediction`,
          tags: [name],
          ...(policy.openFeedback ? {} : { security: [{ bearer: [] }] }),
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              required: ['prediction_id', 'label'],
              properties: {
                prediction_id: { type: 'string', format: 'uuid', minLength: 36, maxLength: 36 },
                label,
              },
            }),
          },
          responses: {
            202: { description: 'Stored (every label is kept; the latest is used for live quality)' },
            400: {
              description:
                'prediction_id is not a UUID the server hands out, or the label is not one this model predicts',
            },
            ...(policy.openFeedback
              ? {}
              : {
                  401: { description: 'Missing or invalid API key' },
                  403: {
                    description:
                      'Refused: the server has no API keys and was not started with --open-feedback',
                  },
                }),
            404: {
              description:
                'No such model, or no prediction with this id of this model in the log (unless --accept-unknown-feedback)',
            },
            501: { description: 'No prediction log configured' },
            503: { description: 'The prediction log cannot be reached right now: retry later' },
          },
        },
      };
    paths[`/v2/models/${name}/infer`] = {
      post: {
        summary: `Open Inference Protocol v2 inference with ${name}`,
        description: `One input tensor per signature column (${columns.map(v2Input).join(', ')}; a blob's BYTES are base64 strings); outputs ${v2Outputs(live)}.`,
        tags: [name],
        requestBody: { required: true, ...json({ type: 'object', required: ['inputs'] }) },
        responses: {
          200: {
            description:
              'Inference response; `warnings` beside `outputs` when a row had a value unseen in training',
            ...json({
              type: 'object',
              properties: {
                model_name: { type: 'string' },
                model_version: { type: 'string' },
                id: { type: 'string' },
                outputs: { type: 'array' },
                warnings: ROW_WARNINGS,
              },
            }),
          },
          ...errorResponses,
        },
      },
    };
  }
  for (const route of legacyRoutes) {
    paths[route.path] = {
      post: {
        summary: `Legacy contract for ${route.model}: instances of [${route.instances.join(', ')}]`,
        tags: ['legacy'],
        requestBody: {
          required: true,
          ...json({
            type: 'object',
            required: ['instances'],
            properties: {
              instances: {
                type: 'array',
                items: { type: 'array', minItems: route.instances.length, maxItems: route.instances.length },
              },
            },
          }),
        },
        responses: {
          200: { description: '{"predictions": [[p per class]], "labels", "prediction_ids"}' },
          ...errorResponses,
        },
      },
    };
  }
  for (const [path, summary] of [
    ['/v1/models', 'Served models'],
    ['/healthz', 'Liveness'],
    ['/readyz', 'Readiness: every configured model loaded'],
    ['/metrics', 'Prometheus metrics'],
  ] as const)
    paths[path] = { get: { summary, responses: { 200: { description: 'OK' } } } };
  doc.paths = paths;
  doc.components.schemas = schemas;
  doc.components.securitySchemes = { bearer: { type: 'http', scheme: 'bearer' } };
}

/** What the v1 route answers to `{"instances": [[...]]}` for a model's task. */
function instancesAnswer(live: LiveModel): string {
  if (live.rule) return '{"predictions": [[p per class]], "labels", "prediction_ids", "classes"}';
  if (live.task.name === 'regression') return '{"predictions": [value per row], "prediction_ids"}';
  if (live.task.name === 'embedding') return '{"predictions": [[vector per row]], "prediction_ids"}';
  return '{"predictions": [prediction per row], "prediction_ids"}';
}

/** The feedback label's schema from the task's prediction schema; undefined when the task takes none. */
function feedbackLabelSchema(properties: Record<string, Schema>): Schema | undefined {
  const predicted = properties.label ?? properties.value ?? properties.labels;
  return predicted && { ...predicted, description: 'the true outcome, in the form the model predicts it' };
}

/** A v2 input tensor as the docs list it: `readings (FP64 [n, timesteps, 2])`. */
function v2Input(rule: ColumnRule): string {
  const { datatype, shape } = inputOf(rule);
  const sizes = shape.map((size, axis) => (size >= 0 ? size : axis === 0 ? 'n' : 'timesteps'));
  return `${rule.name} (${datatype} [${sizes.join(', ')}])`;
}

/** The v2 infer outputs of a model's task, as the docs list them. */
function v2Outputs(live: LiveModel): string {
  return outputsOf(live)
    .map(
      (o) =>
        `"${o.name}" (${o.datatype} [${o.width === 1 ? 'n' : `n, ${o.width}`}])${o.byDefault ? '' : ' on request'}`,
    )
    .join(', ');
}
