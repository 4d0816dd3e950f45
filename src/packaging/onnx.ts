/**
 * Exports a model package (frozen feature pipeline + model) as ONE ONNX graph, assembled from the
 * hooks of its parts: each feature step kind's `exportOnnx` (src/features/steps), then the model
 * family's (src/models). Standard ai.onnx operators, plus onnxruntime's com.microsoft Tokenizer and
 * ai.onnx.ml LabelEncoder where a text step needs them.
 *
 * Graph conventions (also written into the model's doc_string and metadata_props):
 * - one input per raw signature column, named as the column, shape [N, 1]: numeric, integer, boolean
 *   and datetime columns as tensor(double) with NaN for a missing value (booleans 0/1, datetimes epoch
 *   milliseconds); category, string and text columns as tensor(string) with "" for a missing value;
 * - one output named by the task (`onnxOutputName`), tensor(double) [N, width], laid out as the
 *   family's `predict`: `probabilities` [N, k] in the manifest's class order for classification,
 *   `predictions` [N, 1] for regression, `embeddings` [N, d] for an embedding;
 * - a row the JS pipeline refuses (an unseen level under `unseen: 'error'`, a missing or non-finite
 *   feature left after the steps) gets NaN scores, exactly as `PackagedModel.score` does; the reason
 *   for the refusal is the server's validation to give, not the graph's;
 * - no label output: the decision threshold lives in the manifest and the server applies it.
 */
import type { TaskName } from '../config/schema.js';
import type { ColumnType } from '../data/table.js';
import { type FittedPipeline, loadPipeline, type PipelineState } from '../features/pipeline.js';
import { getStepKind, type StepState } from '../features/steps/index.js';
import type { FittedModel, ModelContext, ModelFamily, SavedModel } from '../models/family.js';
import { LOGISTIC_REGRESSION } from '../models/logistic-regression.js';
import { getModelFamily, modelFamilyNames } from '../models/registry.js';
import { OnnxColumns } from '../onnx/columns.js';
import { OnnxExportError } from '../onnx/errors.js';
import { BOOL, DOUBLE, GraphBuilder, onnx, STRING, valueInfo } from '../onnx/graph.js';
import { getTask } from '../tasks/index.js';
import type { Manifest } from './manifest.js';

export { OnnxExportError } from '../onnx/errors.js';

/** The output of a classification graph (and of every graph before outputs were named by task). */
export const ONNX_OUTPUT = 'probabilities';
/** The output of a regression graph: [N, 1] predicted values. */
export const ONNX_REGRESSION_OUTPUT = 'predictions';
/** The output of an embedding graph: [N, d] vectors. */
export const ONNX_EMBEDDING_OUTPUT = 'embeddings';

/** The graph output holding the scores, by the package's task. */
export function onnxOutputName(task: TaskName): string {
  if (task === 'regression') return ONNX_REGRESSION_OUTPUT;
  if (task === 'embedding') return ONNX_EMBEDDING_OUTPUT;
  return ONNX_OUTPUT;
}

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
  'rows the frozen pipeline refuses (unseen level under unseen: error, missing or non-finite feature after the steps) get NaN scores; the server reports the reason';

/** What the export needs; a `PackagedModel` from `loadPackage` is the first form. */
export type OnnxExportSource =
  | { readonly manifest: Manifest; readonly model: FittedModel }
  | { readonly manifest: Manifest; readonly modelSaved: SavedModel }
  | {
      readonly pipelineState: unknown;
      readonly modelSaved: SavedModel;
      /** Class names in score order; empty for regression. */
      readonly classes: readonly string[];
      /** Defaults to binary or multiclass by the number of classes, regression without classes. */
      readonly task?: TaskName;
      /** Defaults to logistic_regression. */
      readonly family?: string;
      readonly name?: string;
      readonly positive?: string;
      readonly threshold?: number;
      /** Embedding only: the vector length. */
      readonly dimensions?: number;
    };

export type OnnxInputKind = 'double' | 'string';

/** Graph input element type for a column type; throws for columns no ONNX tensor input can carry. */
export function onnxInputKind(name: string, type: ColumnType): OnnxInputKind {
  if (type === 'number' || type === 'integer' || type === 'boolean' || type === 'datetime') return 'double';
  if (type === 'category' || type === 'string' || type === 'text') return 'string';
  throw new OnnxExportError(`input column "${name}" is ${type}, which has no ONNX tensor input`);
}

/**
 * Serialised ONNX ModelProto of the package: graph inputs from the pipeline's raw inputs, each step's
 * hook in order, the features [N, p] (dense columns, then the sparse blocks), the family's hook, and
 * the output the task names. Throws `OnnxExportError` naming the step or family that has no ONNX form.
 */
export function exportPipelineToOnnx(source: OnnxExportSource): Uint8Array {
  const parts = partsOf(source);
  const family = exportingFamily(parts.family);
  if (parts.task === 'sequence_labelling') {
    throw new OnnxExportError(
      'sequence_labelling scores are per timestep; the graph has one score row per input row',
    );
  }
  const width = getTask(parts.task).width({ classes: parts.classes, dimensions: parts.dimensions });
  let pipeline: FittedPipeline;
  try {
    pipeline = loadPipeline(parts.pipelineState);
  } catch (error) {
    throw new OnnxExportError((error as Error).message, { cause: error });
  }
  if (pipeline.output === 'tensor') {
    throw new OnnxExportError(
      "the model's input is a tensor step's tensor; the graph assembles [N, p] features",
    );
  }
  const state = pipeline.state();
  const coef = parts.modelSaved.tensors.coef;
  if (coef?.shape.length === 2 && coef.shape[1] !== state.featureNames.length) {
    throw new OnnxExportError(
      `the model has ${coef.shape[1]} coefficients per score; the pipeline makes ${state.featureNames.length} features`,
    );
  }
  const output = onnxOutputName(parts.task);
  if (state.inputs.some((c) => c.name === output)) {
    throw new OnnxExportError(`an input column is named "${output}", the graph's output name`);
  }

  const g = new GraphBuilder([...state.inputs.map((c) => c.name), output]);
  const inputs = state.inputs.map((input) => ({
    name: input.name,
    type: input.type,
    tensor: onnxInputKind(input.name, input.type),
  }));
  const columns = new OnnxColumns(
    g,
    inputs.map((input) => ({ name: input.name, kind: input.tensor === 'double' ? 'numeric' : 'string' })),
  );
  for (const [k, step] of state.steps.entries()) exportStep(step, k, g, columns);
  const { features, refused } = assembleFeatures(g, pipeline, columns, state.allowMissing ?? false);
  const context: ModelContext = { task: parts.task, classes: parts.classes };
  let scores: string;
  try {
    scores = family.exportOnnx(parts.modelSaved, g, features, context);
  } catch (error) {
    const message = error instanceof OnnxExportError ? stripPrefix(error) : (error as Error).message;
    throw new OnnxExportError(`model family "${family.name}": ${message}`, { cause: error });
  }
  if (refused) scores = g.node('Where', [refused, g.doubles([Number.NaN]), scores]);
  g.node('Identity', [scores], {}, output);

  const metadata: Record<string, string> = {
    'kiln.format': ONNX_FORMAT,
    'kiln.name': parts.name,
    'kiln.task': parts.task,
    'kiln.family': family.name,
    'kiln.output': output,
    'kiln.width': String(width),
    'kiln.classes': JSON.stringify(parts.classes),
    'kiln.inputs': JSON.stringify(inputs),
    'kiln.feature_names': JSON.stringify(state.featureNames),
    'kiln.missing': ONNX_MISSING_CONVENTION,
    'kiln.rejected_rows': ONNX_REJECTED_ROWS,
  };
  if (parts.positive !== undefined) metadata['kiln.positive'] = parts.positive;
  if (parts.threshold !== undefined) metadata['kiln.threshold'] = String(parts.threshold);
  const doc = [
    `Kiln pipeline "${parts.name}" (${parts.task}): frozen feature steps + ${family.name}.`,
    `Inputs: one [N, 1] tensor per raw column, named as the column. ${ONNX_MISSING_CONVENTION}.`,
    parts.classes.length > 0
      ? `Output "${output}": [N, ${width}] double, classes ${JSON.stringify(parts.classes)}.`
      : `Output "${output}": [N, ${width}] double.`,
    `${ONNX_REJECTED_ROWS}.`,
    ...(parts.classes.length > 0
      ? ['The decision threshold is in the model package manifest; this graph has no label output.']
      : []),
  ].join('\n');

  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: g.opsetImports(ONNX_OPSET),
    producerName: 'kiln',
    producerVersion: ONNX_FORMAT,
    docString: doc,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: g.graph(
      parts.name,
      inputs.map((input) => valueInfo(input.name, input.tensor === 'double' ? DOUBLE : STRING, ['N', 1])),
      [valueInfo(output, DOUBLE, ['N', width])],
      doc,
    ),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Runs step k's hook; a kind without one, or a state it cannot express, names the step. */
function exportStep(step: StepState, k: number, g: GraphBuilder, columns: OnnxColumns): void {
  const name = step.config.step;
  const where = `feature step ${k + 1} (${name})`;
  const kind = getStepKind(name);
  if (!kind.exportOnnx) throw new OnnxExportError(`${where}: the "${name}" step kind has no ONNX form`);
  try {
    kind.exportOnnx(step, g, columns);
  } catch (error) {
    const message = error instanceof OnnxExportError ? stripPrefix(error) : (error as Error).message;
    throw new OnnxExportError(`${where}: ${message}`, { cause: error });
  }
}

const stripPrefix = (error: OnnxExportError) => error.message.replace(/^cannot export to ONNX: /, '');

/** The registered family with an ONNX hook, or an error naming those that have one. */
function exportingFamily(name: string): ModelFamily & Required<Pick<ModelFamily, 'exportOnnx'>> {
  const find = (n: string) => {
    try {
      return getModelFamily(n);
    } catch {
      return undefined;
    }
  };
  const family = find(name);
  if (!family?.exportOnnx) {
    const supported = modelFamilyNames().filter((n) => find(n)?.exportOnnx);
    throw new OnnxExportError(
      `model family "${name}" has no ONNX export (supported: ${supported.join(', ') || 'none'})`,
    );
  }
  return family as ModelFamily & Required<Pick<ModelFamily, 'exportOnnx'>>;
}

/**
 * The features [N, p] in `featureNames` order (the dense columns, then the sparse blocks), and the
 * rows the JS pipeline refuses: a step's refusal, or a dense feature that is not finite (NaN passes
 * when the model handles missing values). Sparse blocks are never checked, as in the JS pipeline.
 */
function assembleFeatures(
  g: GraphBuilder,
  pipeline: FittedPipeline,
  columns: OnnxColumns,
  allowMissing: boolean,
): { features: string; refused: string | undefined } {
  const dense = pipeline.featureNames.slice(0, pipeline.denseFeatureCount);
  const sparse = pipeline.featureNames.slice(pipeline.denseFeatureCount);
  const parts: string[] = [];
  const refusals: string[] = [];
  const stepRefusals = columns.refusedRows();
  if (stepRefusals) refusals.push(stepRefusals);
  if (dense.length > 0) {
    const X = columns.matrix(dense);
    parts.push(X);
    const bad = allowMissing
      ? g.node('IsInf', [X])
      : g.node('Or', [g.node('IsInf', [X]), g.node('IsNaN', [X])]);
    const anyBad = g.node('ReduceMax', [g.node('Cast', [bad], { to: DOUBLE }), g.int64s([1], [1])], {
      keepdims: 1,
    });
    refusals.push(g.node('Cast', [anyBad], { to: BOOL }));
  }
  if (sparse.length > 0 || dense.length === 0) parts.push(columns.matrix(sparse));
  const features = parts.length === 1 ? parts[0] : g.node('Concat', parts, { axis: 1 });
  const refused = refusals.length === 0 ? undefined : refusals.reduce((acc, t) => g.node('Or', [acc, t]));
  return { features, refused };
}

interface ExportParts {
  pipelineState: unknown;
  modelSaved: SavedModel;
  classes: readonly string[];
  task: TaskName;
  family: string;
  name: string;
  positive?: string;
  threshold?: number;
  dimensions?: number;
}

function partsOf(source: OnnxExportSource): ExportParts {
  if ('pipelineState' in source) {
    const { classes } = source;
    return {
      ...source,
      task:
        source.task ?? (classes.length === 0 ? 'regression' : classes.length === 2 ? 'binary' : 'multiclass'),
      family: source.family ?? LOGISTIC_REGRESSION,
      name: source.name ?? 'kiln-model',
    };
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
    task: manifest.task,
    family: manifest.model.family,
    name: manifest.name,
    positive: manifest.output.positive,
    threshold: manifest.output.threshold,
    dimensions: manifest.output.dimensions,
  };
}
