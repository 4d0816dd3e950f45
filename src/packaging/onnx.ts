/**
 * Exports a logistic-regression model package (frozen feature pipeline + model) as ONE ONNX graph
 * built from standard ai.onnx operators only, so any ONNX runtime can serve it from the graph alone.
 *
 * Graph conventions (also written into the model's doc_string and metadata_props):
 * - one input per raw signature column, named as the column, shape [N, 1]: numeric, integer, boolean
 *   and datetime columns as tensor(double) with NaN for a missing value (booleans 0/1, datetimes epoch
 *   milliseconds); category, string and text columns as tensor(string) with "" for a missing value;
 * - one output `probabilities`, tensor(double) [N, k], in the manifest's class order;
 * - a row the JS pipeline refuses (an unseen level under `unseen: 'error'`, a missing or non-finite
 *   feature left after the steps) gets NaN probabilities, exactly as `PackagedModel.score` does; the
 *   reason for the refusal is the server's validation to give, not the graph's;
 * - no label output: the decision threshold lives in the manifest and the server applies it.
 */
import type { ColumnType } from '../data/table.js';
import { parseExpression } from '../features/expression.js';
import { loadPipeline, type PipelineState } from '../features/pipeline.js';
import type {
  DeriveState,
  DropState,
  ImputeState,
  OneHotState,
  OrdinalState,
  ScaleState,
  StepState,
} from '../features/steps/index.js';
import { MISSING_LEVEL } from '../features/steps/index.js';
import type { FittedModel, SavedModel } from '../models/family.js';
import { LOGISTIC_REGRESSION } from '../models/logistic-regression.js';
import { OnnxExportError } from '../onnx/errors.js';
import { BOOL, DOUBLE, GraphBuilder, onnx, STRING, valueInfo } from '../onnx/graph.js';
import type { Manifest } from './manifest.js';
import { deriveExpression } from './onnx-derive.js';

export { OnnxExportError } from '../onnx/errors.js';

export const ONNX_OUTPUT = 'probabilities';
/** File name of the exported graph inside a model package. */
export { ONNX_FILE } from './write.js';
/** Opset 20: Equal compares strings from 19; StringConcat and StringSplit (text steps) are 20's. */
export const ONNX_OPSET = 20;
/** IR version 9 is what opsets 19 and 20 require; onnxruntime 1.30 reads up to 11. */
export const ONNX_IR_VERSION = 9;
export const ONNX_FORMAT = 'kiln.onnx-pipeline/1';
export const ONNX_MISSING_CONVENTION =
  'missing values: NaN in tensor(double) inputs (numeric, integer, boolean, datetime columns); "" in tensor(string) inputs (category, string, text columns)';
export const ONNX_REJECTED_ROWS =
  'rows the frozen pipeline refuses (unseen level under unseen: error, missing or non-finite feature after the steps) get NaN probabilities; the server reports the reason';

/** What the export needs; a `PackagedModel` from `loadPackage` is the first form. */
export type OnnxExportSource =
  | { readonly manifest: Manifest; readonly model: FittedModel }
  | { readonly manifest: Manifest; readonly modelSaved: SavedModel }
  | {
      readonly pipelineState: unknown;
      readonly modelSaved: SavedModel;
      readonly classes: readonly string[];
      /** Defaults to logistic_regression. */
      readonly family?: string;
      readonly name?: string;
      readonly positive?: string;
      readonly threshold?: number;
    };

export type OnnxInputKind = 'double' | 'string';

/** Graph input element type for a column type; throws for columns no ONNX tensor input can carry. */
export function onnxInputKind(name: string, type: ColumnType): OnnxInputKind {
  if (type === 'number' || type === 'integer' || type === 'boolean' || type === 'datetime') return 'double';
  if (type === 'category' || type === 'string' || type === 'text') return 'string';
  throw new OnnxExportError(`input column "${name}" is ${type}, which has no ONNX tensor input`);
}

/** Serialised ONNX ModelProto of the package's pipeline and logistic-regression model. */
export function exportPipelineToOnnx(source: OnnxExportSource): Uint8Array {
  const parts = resolveSource(source);
  let state: PipelineState;
  try {
    state = loadPipeline(parts.pipelineState).state();
  } catch (error) {
    throw new OnnxExportError((error as Error).message, { cause: error });
  }
  const { coef, intercept, fitted } = linearModel(parts.modelSaved, parts.classes);
  if (coef.cols !== state.featureNames.length) {
    throw new OnnxExportError(
      `the model has ${coef.cols} coefficients per class; the pipeline makes ${state.featureNames.length} features`,
    );
  }

  if (state.inputs.some((c) => c.name === ONNX_OUTPUT)) {
    throw new OnnxExportError(`an input column is named "${ONNX_OUTPUT}", the graph's output name`);
  }
  const g = new GraphBuilder([...state.inputs.map((c) => c.name), ONNX_OUTPUT]);
  const columns = new Map<string, Col>();
  const inputs = state.inputs.map((input) => {
    const kind = onnxInputKind(input.name, input.type);
    columns.set(input.name, kind === 'double' ? numeric(input.name) : { kind: 'string', tensor: input.name });
    return { name: input.name, type: input.type, tensor: kind };
  });
  const refusals: string[] = [];
  state.steps.forEach((step, k) => {
    try {
      applyStep(g, step, columns, refusals, inputs[0]?.name);
    } catch (error) {
      const message =
        error instanceof OnnxExportError
          ? error.message.replace(/^cannot export to ONNX: /, '')
          : (error as Error).message;
      throw new OnnxExportError(`feature step ${k + 1} (${step.config.step}): ${message}`, { cause: error });
    }
  });

  const X = assembleFeatures(g, state.featureNames, columns, refusals);
  const probabilities = linearHead(g, X, coef, intercept, fitted, parts.classes.length);
  g.node('Identity', [probabilities], {}, ONNX_OUTPUT);

  const metadata: Record<string, string> = {
    'kiln.format': ONNX_FORMAT,
    'kiln.name': parts.name,
    'kiln.classes': JSON.stringify(parts.classes),
    'kiln.inputs': JSON.stringify(inputs),
    'kiln.feature_names': JSON.stringify(state.featureNames),
    'kiln.missing': ONNX_MISSING_CONVENTION,
    'kiln.rejected_rows': ONNX_REJECTED_ROWS,
  };
  if (parts.positive !== undefined) metadata['kiln.positive'] = parts.positive;
  if (parts.threshold !== undefined) metadata['kiln.threshold'] = String(parts.threshold);
  const doc = [
    `Kiln pipeline "${parts.name}": frozen feature steps + ${LOGISTIC_REGRESSION}.`,
    `Inputs: one [N, 1] tensor per raw column, named as the column. ${ONNX_MISSING_CONVENTION}.`,
    `Output "${ONNX_OUTPUT}": [N, ${parts.classes.length}] double, classes ${JSON.stringify(parts.classes)}.`,
    `${ONNX_REJECTED_ROWS}.`,
    'The decision threshold is in the model package manifest; this graph has no label output.',
  ].join('\n');

  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: g.opsetImports(ONNX_OPSET),
    producerName: 'kiln',
    producerVersion: ONNX_FORMAT,
    docString: doc,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: parts.name,
      docString: doc,
      node: g.nodes,
      initializer: g.initializers,
      input: inputs.map((input) =>
        valueInfo(input.name, input.tensor === 'double' ? DOUBLE : STRING, ['N', 1]),
      ),
      output: [valueInfo(ONNX_OUTPUT, DOUBLE, ['N', parts.classes.length])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

interface ExportParts {
  pipelineState: unknown;
  modelSaved: SavedModel;
  classes: readonly string[];
  family: string;
  name: string;
  positive?: string;
  threshold?: number;
}

function resolveSource(source: OnnxExportSource): ExportParts {
  const parts = partsOf(source);
  if (parts.family !== LOGISTIC_REGRESSION) {
    throw new OnnxExportError(
      `model family "${parts.family}" has no ONNX export (supported: ${LOGISTIC_REGRESSION})`,
    );
  }
  return parts;
}

function partsOf(source: OnnxExportSource): ExportParts {
  if ('pipelineState' in source) {
    return { ...source, family: source.family ?? LOGISTIC_REGRESSION, name: source.name ?? 'kiln-model' };
  }
  const { manifest } = source;
  // The graph's inputs are the pipeline's; the manifest promises the same columns to clients.
  const signature = manifest.signature.inputs.map((c) => c.name).join(', ');
  const pipeline = ((manifest.features as PipelineState | undefined)?.inputs ?? [])
    .map((c) => c.name)
    .join(', ');
  if (signature !== pipeline) {
    throw new OnnxExportError(
      `the manifest's signature inputs [${signature}] differ from its pipeline's inputs [${pipeline}]`,
    );
  }
  return {
    pipelineState: manifest.features,
    modelSaved: 'model' in source ? source.model.save() : source.modelSaved,
    classes: manifest.output.classes,
    family: manifest.model.family,
    name: manifest.name,
    positive: manifest.output.positive,
    threshold: manifest.output.threshold,
  };
}

function linearModel(saved: SavedModel, classes: readonly string[]) {
  const coefT = saved.tensors.coef;
  const interceptT = saved.tensors.intercept;
  if (!coefT || !interceptT || coefT.shape.length !== 2 || interceptT.shape.length !== 1) {
    throw new OnnxExportError(
      'the saved model has no logistic-regression tensors "coef" [k, p] and "intercept" [k]',
    );
  }
  const [kk, p] = coefT.shape;
  const names = (saved.meta.fittedClasses as string[] | undefined) ?? [...classes];
  const fitted = names.map((name) => {
    const index = classes.indexOf(name);
    if (index < 0) throw new OnnxExportError(`fitted class "${name}" is not among [${classes.join(', ')}]`);
    return index;
  });
  if (fitted.length !== (kk === 1 ? 2 : kk) || interceptT.shape[0] !== kk) {
    throw new OnnxExportError(
      `${fitted.length} fitted classes do not match coef [${kk}, ${p}] and intercept [${interceptT.shape}]`,
    );
  }
  return { coef: { rows: kk, cols: p, data: coefT.data }, intercept: interceptT.data, fitted };
}

// ---- columns while the steps run --------------------------------------------------------------

/** A numeric column: column `index` of a [N, width] double tensor (one-hot dummies share a block). */
interface NumCol {
  readonly kind: 'numeric';
  readonly block: string;
  readonly index: number;
  readonly width: number;
}
interface StrCol {
  readonly kind: 'string';
  readonly tensor: string;
}
type Col = NumCol | StrCol;

const numeric = (tensor: string): NumCol => ({ kind: 'numeric', block: tensor, index: 0, width: 1 });

function getCol(columns: Map<string, Col>, name: string): Col {
  const col = columns.get(name);
  if (!col) throw new OnnxExportError(`no column "${name}" at this step`);
  return col;
}

function numericTensor(g: GraphBuilder, columns: Map<string, Col>, name: string): string {
  const col = getCol(columns, name);
  if (col.kind !== 'numeric')
    throw new OnnxExportError(`column "${name}" is a string column, expected numeric`);
  return g.column(col);
}

function stringTensor(columns: Map<string, Col>, name: string): string {
  const col = getCol(columns, name);
  if (col.kind !== 'string')
    throw new OnnxExportError(`column "${name}" is numeric, expected a string column`);
  return col.tensor;
}

/** A string level or fill of "" would be indistinguishable from the graph's missing value. */
function assertNotEmpty(values: readonly string[], what: string): void {
  if (values.includes('')) {
    throw new OnnxExportError(`${what}: "" is reserved for a missing value in the ONNX graph`);
  }
}

function applyStep(
  g: GraphBuilder,
  step: StepState,
  columns: Map<string, Col>,
  refusals: string[],
  anyInput: string | undefined,
): void {
  switch (step.config.step) {
    case 'impute': {
      const { columns: names, fills } = step as ImputeState;
      names.forEach((name, j) => {
        const fill = fills[j];
        const col = getCol(columns, name);
        if (typeof fill === 'number' && col.kind === 'numeric') {
          const x = g.column(col);
          columns.set(name, numeric(g.node('Where', [g.node('IsNaN', [x]), g.doubles([fill]), x])));
        } else if (typeof fill === 'string' && col.kind === 'string') {
          assertNotEmpty([fill], `the fill of column "${name}"`);
          const x = col.tensor;
          const filled = g.node('Where', [g.node('Equal', [x, g.strings([''])]), g.strings([fill]), x]);
          columns.set(name, { kind: 'string', tensor: filled });
        } else {
          throw new OnnxExportError(`column "${name}" is ${col.kind}, but its fill is a ${typeof fill}`);
        }
      });
      return;
    }
    case 'derive': {
      const { config } = step as DeriveState;
      columns.set(
        config.name,
        numeric(
          deriveExpression(
            g,
            parseExpression(config.expr),
            (name) => numericTensor(g, columns, name),
            anyInput,
          ),
        ),
      );
      return;
    }
    case 'one_hot': {
      const { config, encodings } = step as OneHotState;
      const dropFirst = config.drop === 'first' ? 1 : 0;
      const inputs = encodings.map(({ column }) => stringTensor(columns, column));
      for (const { column } of encodings) columns.delete(column);
      encodings.forEach(({ column, levels, missingLevel }, e) => {
        assertNotEmpty(levels, `the levels of column "${column}"`);
        const x = inputs[e];
        // "" (missing) stands for the `nan` level; any other value matches at most one real level.
        const all = missingLevel ? [...levels, ''] : [...levels];
        const kept = all.slice(dropFirst);
        if (kept.length > 0) {
          const block = g.node('Cast', [g.node('Equal', [x, g.strings(kept, [1, kept.length])])], {
            to: DOUBLE,
          });
          const outputs = [...levels, ...(missingLevel ? [MISSING_LEVEL] : [])].slice(dropFirst);
          outputs.forEach((level, index) => {
            columns.set(`${column}_${level}`, { kind: 'numeric', block, index, width: kept.length });
          });
        }
        if (config.unseen === 'error') {
          // Refused: a value matching no level (missing included), unless missing values are ignored.
          const unknown = g.node('Not', [anyEqual(g, x, all)]);
          refusals.push(
            config.missing === 'ignore' && !missingLevel
              ? g.node('And', [unknown, g.node('Not', [g.node('Equal', [x, g.strings([''])])])])
              : unknown,
          );
        }
      });
      return;
    }
    case 'ordinal': {
      const { config, levels } = step as OrdinalState;
      assertNotEmpty(levels, `the levels of column "${config.column}"`);
      if (levels.length === 0) throw new OnnxExportError(`ordinal column "${config.column}" has no levels`);
      const x = stringTensor(columns, config.column);
      const matches = g.node('Cast', [g.node('Equal', [x, g.strings(levels, [1, levels.length])])], {
        to: DOUBLE,
      });
      // One-hot rows times the codes 0..L-1 give the code; no match (missing or unseen) gives NaN.
      const code = g.node('MatMul', [
        matches,
        g.doubles(
          levels.map((_, k) => k),
          [levels.length, 1],
        ),
      ]);
      const known = anyEqual(g, x, levels);
      columns.set(config.column, numeric(g.node('Where', [known, code, g.doubles([Number.NaN])])));
      if (config.unseen === 'error') {
        refusals.push(
          g.node('And', [g.node('Not', [known]), g.node('Not', [g.node('Equal', [x, g.strings([''])])])]),
        );
      }
      return;
    }
    case 'scale': {
      const { columns: names, means, scales } = step as ScaleState;
      names.forEach((name, j) => {
        const x = numericTensor(g, columns, name);
        columns.set(
          name,
          numeric(g.node('Div', [g.node('Sub', [x, g.doubles([means[j]])]), g.doubles([scales[j]])])),
        );
      });
      return;
    }
    case 'drop': {
      for (const name of (step as DropState).config.columns) columns.delete(name);
      return;
    }
    default:
      throw new OnnxExportError(`step kind "${(step.config as { step: string }).step}" has no ONNX form`);
  }
}

/** [N, 1] bool: whether x equals one of `values` (false everywhere when there are none). */
function anyEqual(g: GraphBuilder, x: string, values: readonly string[]): string {
  if (values.length === 0) return g.node('Not', [g.node('Equal', [x, x])]);
  if (values.length === 1) return g.node('Equal', [x, g.strings([values[0]])]);
  const matches = g.node('Cast', [g.node('Equal', [x, g.strings(values, [1, values.length])])], {
    to: DOUBLE,
  });
  return g.node('Cast', [g.node('ReduceMax', [matches, g.int64s([1], [1])], { keepdims: 1 })], { to: BOOL });
}

/** [N, p] double in featureNames order, with refused rows set to NaN. */
function assembleFeatures(
  g: GraphBuilder,
  featureNames: readonly string[],
  columns: Map<string, Col>,
  refusals: readonly string[],
): string {
  const features = featureNames.map((name) => {
    const col = getCol(columns, name);
    if (col.kind !== 'numeric')
      throw new OnnxExportError(`feature "${name}" is a string column after the steps`);
    return col;
  });
  // Concatenate each distinct block once, then pick the feature columns out of it in order.
  const offsets = new Map<string, number>();
  const blocks: string[] = [];
  let width = 0;
  for (const col of features) {
    if (offsets.has(col.block)) continue;
    offsets.set(col.block, width);
    blocks.push(col.block);
    width += col.width;
  }
  const indices = features.map((col) => offsets.get(col.block)! + col.index);
  let X = blocks.length === 1 ? blocks[0] : g.node('Concat', blocks, { axis: 1 });
  if (width !== indices.length || indices.some((j, i) => j !== i)) {
    X = g.node('Gather', [X, g.int64s(indices, [indices.length])], { axis: 1 });
  }
  // The JS pipeline refuses rows with a non-finite feature; NaN makes their probabilities NaN too.
  X = g.node('Where', [g.node('IsInf', [X]), g.doubles([Number.NaN]), X]);
  if (refusals.length > 0) {
    const refused = refusals.reduce((acc, t) => g.node('Or', [acc, t]));
    X = g.node('Add', [X, g.node('Where', [refused, g.doubles([Number.NaN]), g.doubles([0])])]);
  }
  return X;
}

/** Logits, sigmoid or softmax, then the probabilities placed in the manifest's class order. */
function linearHead(
  g: GraphBuilder,
  X: string,
  coef: { rows: number; cols: number; data: ArrayLike<number> },
  intercept: ArrayLike<number>,
  fitted: readonly number[],
  k: number,
): string {
  const { rows: kk, cols: p } = coef;
  const coefT = new Array<number>(p * kk);
  for (let c = 0; c < kk; c++) for (let j = 0; j < p; j++) coefT[j * kk + c] = coef.data[c * p + j];
  const logits = g.node('Add', [
    g.node('MatMul', [X, g.doubles(coefT, [p, kk])]),
    g.doubles(Array.from(intercept), [1, kk]),
  ]);
  let proba: string;
  if (kk === 1) {
    const positive = g.node('Sigmoid', [logits]);
    proba = g.node('Concat', [g.node('Sub', [g.doubles([1]), positive]), positive], { axis: 1 });
  } else {
    proba = g.node('Softmax', [logits], { axis: 1 });
  }
  if (fitted.length === k && fitted.every((c, i) => c === i)) return proba;
  // Classes without training rows get probability 0 (a 0/1 placement matrix keeps values exact).
  const placement = new Array<number>(fitted.length * k).fill(0);
  fitted.forEach((c, i) => {
    placement[i * k + c] = 1;
  });
  return g.node('MatMul', [proba, g.doubles(placement, [fitted.length, k])]);
}
