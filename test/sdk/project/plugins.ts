/**
 * A model family and a feature step of a project's own, written against Kiln's public SDK only
 * (`import ... from 'kiln'`), as a user outside the Kiln repository would write them.
 */
import {
  type FitContext,
  type FittedModel,
  type FittedStep,
  fitControl,
  isNumericColumn,
  type ModelFamily,
  type ModelInput,
  parseStepState,
  replaceColumns,
  type StepKind,
  type StepState,
  type Table,
  z,
} from 'kiln';

/**
 * Nearest centroid with a softmax over negative squared distances. Missing features are skipped in
 * the distance (handled natively), rows weigh by their sample weight.
 */
const centroidParams = z.strictObject({ temperature: z.number().positive().default(1) });
type CentroidParams = z.infer<typeof centroidParams>;

function dense(X: ModelInput) {
  if (X.kind !== 'dense') throw new Error(`nearest_centroid takes a dense matrix, not ${X.kind} input`);
  return X;
}

function centroidModel(centroids: Float64Array, k: number, p: number, temperature: number): FittedModel {
  return {
    family: 'nearest_centroid',
    predict(input) {
      const X = dense(input);
      if (X.cols !== p) throw new Error(`nearest_centroid: ${p} features expected, got ${X.cols}`);
      const out = new Float64Array(X.rows * k);
      for (let i = 0; i < X.rows; i++) {
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < k; c++) {
          let d = 0;
          for (let j = 0; j < p; j++) {
            const v = X.data[i * p + j];
            if (!Number.isNaN(v)) d += (v - centroids[c * p + j]) ** 2;
          }
          out[i * k + c] = -d / temperature;
          max = Math.max(max, out[i * k + c]);
        }
        let sum = 0;
        for (let c = 0; c < k; c++) sum += out[i * k + c] = Math.exp(out[i * k + c] - max);
        for (let c = 0; c < k; c++) out[i * k + c] /= sum;
      }
      return out;
    },
    save: () => ({
      meta: { temperature },
      tensors: { centroids: { shape: [k, p], data: Float64Array.from(centroids) } },
    }),
    diagnostics: () => ({ classes: k }),
  };
}

export const nearestCentroid: ModelFamily<CentroidParams> = {
  name: 'nearest_centroid',
  description: 'nearest class centroid, softmax of negative squared distances',
  params: centroidParams,
  tasks: ['binary', 'multiclass'],
  capabilities: {
    inputs: ['dense'],
    missingValues: true,
    sampleWeights: true,
    warmStart: false,
    threads: false,
  },
  async fit(input, y, options) {
    const X = dense(input);
    const params = centroidParams.parse(options.params);
    const k = options.classes.length;
    const p = X.cols;
    const sums = new Float64Array(k * p);
    const weights = new Float64Array(k * p);
    const control = fitControl(options, 'rows', X.rows);
    control.check();
    for (let i = 0; i < X.rows; i++) {
      const w = options.sampleWeight?.[i] ?? 1;
      for (let j = 0; j < p; j++) {
        const v = X.data[i * p + j];
        if (Number.isNaN(v)) continue;
        sums[y[i] * p + j] += w * v;
        weights[y[i] * p + j] += w;
      }
      if (i % 64 === 63 || i === X.rows - 1) await control.tick(i + 1);
    }
    const centroids = sums.map((s, q) => (weights[q] > 0 ? s / weights[q] : 0));
    return centroidModel(centroids, k, p, params.temperature);
  },
  load(saved, context) {
    const t = saved.tensors.centroids;
    if (t?.shape.length !== 2 || t.shape[0] !== context.classes.length)
      throw new Error('nearest_centroid: the saved model needs centroids [classes, features]');
    return centroidModel(Float64Array.from(t.data), t.shape[0], t.shape[1], Number(saved.meta.temperature));
  },
};

/** Products of pairs of numeric columns, `a_x_b`: interactions a linear or distance model cannot make. */
const interactionsConfig = z.strictObject({
  step: z.literal('interactions'),
  columns: z.array(z.string()).min(2),
});
type InteractionsConfig = z.infer<typeof interactionsConfig>;
interface InteractionsState extends StepState<InteractionsConfig> {
  pairs: [string, string][];
}

function fittedInteractions(state: InteractionsState): FittedStep<InteractionsState> {
  return {
    state,
    reads: state.config.columns,
    writes: state.pairs.map(([a, b]) => `${a}_x_${b}`),
    transform(table: Table) {
      return replaceColumns(
        table,
        state.pairs.map(([a, b]) => {
          const x = table.columns.get(a);
          const z2 = table.columns.get(b);
          if (!x || !z2 || !isNumericColumn(x) || !isNumericColumn(z2))
            throw new Error(`interactions: columns "${a}" and "${b}" must be numeric`);
          return [`${a}_x_${b}`, { type: 'number', values: x.values.map((v, i) => v * z2.values[i]) }];
        }),
      );
    },
  };
}

export const interactions: StepKind<InteractionsConfig> = {
  name: 'interactions',
  description: 'products of pairs of numeric columns',
  takes: ['number', 'integer'],
  gives: 'table',
  config: interactionsConfig,
  fit(table: Table, config: InteractionsConfig, _context: FitContext) {
    for (const name of config.columns) {
      const column = table.columns.get(name);
      if (!column) throw new Error(`interactions: no column "${name}"`);
      if (!isNumericColumn(column))
        throw new Error(`interactions: column "${name}" is ${column.type}, not numeric`);
    }
    const pairs: [string, string][] = [];
    config.columns.forEach((a, i) => {
      for (const b of config.columns.slice(i + 1)) pairs.push([a, b]);
    });
    return fittedInteractions({ config, pairs });
  },
  load(raw) {
    const state = parseStepState(
      'interactions',
      interactionsConfig,
      { pairs: z.array(z.tuple([z.string(), z.string()])) },
      raw,
    );
    return fittedInteractions(state);
  },
};
