/**
 * A feature step and a model family for sequences of readings, written against Kiln's public SDK only
 * (`import ... from 'kiln'`), as a user outside the Kiln repository would write them.
 */
import {
  type FitContext,
  type FittedModel,
  type FittedStep,
  fitControl,
  type ModelFamily,
  type ModelInput,
  parseStepState,
  type RowErrors,
  reportRow,
  type StepKind,
  type StepState,
  type Table,
  type Tensor,
  tensor,
  z,
} from 'kiln';

/**
 * The last `size` timesteps of a sequence column as one [n, size, width] tensor: the model's whole
 * input. A row with fewer timesteps (or none) is a row error, which the server answers as a 400.
 */
const lastWindowConfig = z.strictObject({
  step: z.literal('last_window'),
  column: z.string(),
  size: z.number().int().positive(),
});
type LastWindowConfig = z.infer<typeof lastWindowConfig>;
interface LastWindowState extends StepState<LastWindowConfig> {
  /** Values per timestep, as the column had them at fit. */
  width: number;
}

function sequenceOf(table: Table, name: string) {
  const column = table.columns.get(name);
  if (!column) throw new Error(`last_window: no column "${name}"`);
  if (column.type !== 'sequence')
    throw new Error(`last_window: column "${name}" is ${column.type}, not a sequence`);
  return column;
}

function fittedLastWindow(state: LastWindowState): FittedStep<LastWindowState> {
  const { column: name, size } = state.config;
  const { width } = state;
  return {
    state,
    reads: [name],
    writes: [],
    transform: (table: Table) => table,
    tensor: {
      name: `${name}_window`,
      rowShape: [size, width],
      transform(table: Table, rowErrors: RowErrors): Tensor {
        const column = sequenceOf(table, name);
        if (column.width !== width)
          throw new Error(
            `last_window: "${name}" has ${column.width} values per timestep, fitted on ${width}`,
          );
        const out = tensor('float64', [table.nRows, size, width]);
        for (let i = 0; i < table.nRows; i++) {
          const values = column.values[i];
          const steps = values === null ? 0 : values.length / width;
          if (values === null) reportRow(rowErrors, i, `${name}: missing`);
          else if (steps < size)
            reportRow(rowErrors, i, `${name}: ${steps} timesteps, the window needs ${size}`);
          else out.data.set(values.subarray((steps - size) * width), i * size * width);
        }
        return out;
      },
    },
  };
}

export const lastWindow: StepKind<LastWindowConfig> = {
  name: 'last_window',
  description: 'the last timesteps of a sequence column, as a [n, size, width] tensor',
  takes: ['sequence'],
  gives: 'tensor',
  config: lastWindowConfig,
  fit(table: Table, config: LastWindowConfig, context: FitContext) {
    if (context.exclude.has(config.column))
      throw new Error(`last_window: column "${config.column}" is excluded from features`);
    return fittedLastWindow({ config, width: sequenceOf(table, config.column).width });
  },
  load(raw) {
    return fittedLastWindow(
      parseStepState('last_window', lastWindowConfig, { width: z.number().int().positive() }, raw),
    );
  },
};

/**
 * Nearest centroid over windows: each class's mean window, a softmax over negative squared distances
 * (divided by `temperature`) to them.
 */
const centroidParams = z.strictObject({ temperature: z.number().positive().default(1) });
type CentroidParams = z.infer<typeof centroidParams>;

function windows(X: ModelInput): Tensor {
  if (X.kind !== 'tensor' || X.shape.length !== 3)
    throw new Error('window_centroid takes windows [n, time, features]');
  return X;
}

function centroidModel(
  centroids: Float64Array,
  k: number,
  rowShape: number[],
  temperature: number,
): FittedModel {
  const p = rowShape[0] * rowShape[1];
  return {
    family: 'window_centroid',
    predict(input) {
      const X = windows(input);
      if (X.shape[1] !== rowShape[0] || X.shape[2] !== rowShape[1])
        throw new Error(
          `window_centroid: windows [${rowShape.join(', ')}] expected, got [${X.shape.slice(1).join(', ')}]`,
        );
      const n = X.shape[0];
      const out = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < k; c++) {
          let d = 0;
          for (let j = 0; j < p; j++) d += (X.data[i * p + j] - centroids[c * p + j]) ** 2;
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
      tensors: { centroids: { shape: [k, ...rowShape], data: Float64Array.from(centroids) } },
    }),
    diagnostics: () => ({ classes: k }),
  };
}

export const windowCentroid: ModelFamily<CentroidParams> = {
  name: 'window_centroid',
  description: 'nearest class-mean window, softmax of negative squared distances',
  params: centroidParams,
  tasks: ['binary', 'multiclass'],
  capabilities: {
    inputs: ['sequence'],
    missingValues: false,
    sampleWeights: false,
    warmStart: false,
    threads: false,
  },
  async fit(input, y, options) {
    const X = windows(input);
    const params = centroidParams.parse(options.params);
    const [n, time, features] = X.shape;
    const k = options.classes.length;
    const p = time * features;
    const sums = new Float64Array(k * p);
    const counts = new Float64Array(k);
    const control = fitControl(options, 'rows', n);
    for (let i = 0; i < n; i++) {
      counts[y[i]]++;
      for (let j = 0; j < p; j++) sums[y[i] * p + j] += X.data[i * p + j];
      if (i % 256 === 255 || i === n - 1) await control.tick(i + 1);
    }
    const centroids = sums.map((s, q) => (counts[Math.floor(q / p)] > 0 ? s / counts[Math.floor(q / p)] : 0));
    return centroidModel(centroids, k, [time, features], params.temperature);
  },
  load(saved, context) {
    const t = saved.tensors.centroids;
    if (t?.shape.length !== 3 || t.shape[0] !== context.classes.length)
      throw new Error('window_centroid: the saved model needs centroids [classes, time, features]');
    const [k, time, features] = t.shape;
    return centroidModel(Float64Array.from(t.data), k, [time, features], Number(saved.meta.temperature));
  },
};
