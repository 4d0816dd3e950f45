/**
 * ONNX parity of one part of a pipeline, for the contract suites: a family's `exportOnnx` fragment
 * against its `predict`, and a step kind's `exportOnnx` against its fitted step's `transform`, each
 * run in onnxruntime-node as the ONNX engine runs a package's graph.
 *
 * Both return the largest |JS - ONNX| over the values compared; what is not a number to compare (a
 * NaN on one side only, a column one side has and the other not, strings that differ, rows refused on
 * one side only) throws, naming the place.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { DenseMatrix } from '../../src/data/matrix.js';
import { isNumericColumn, isStringColumn, type Table } from '../../src/data/table.js';
import type { RowErrors, StepKind, StepState } from '../../src/features/steps/step.js';
import type { ModelContext, ModelFamily, SavedModel } from '../../src/models/family.js';
import { OnnxColumns } from '../../src/onnx/columns.js';
import { BOOL, DOUBLE, GraphBuilder, type OnnxTypes, onnx, STRING, valueInfo } from '../../src/onnx/graph.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../../src/packaging/onnx.js';

/** Max |predict - the family's ONNX fragment| on X, the fragment reading one [N, p] double input. */
export async function familyOnnxParity(
  family: ModelFamily,
  saved: SavedModel,
  context: ModelContext,
  X: DenseMatrix,
): Promise<number> {
  if (!family.exportOnnx) throw new Error(`model family "${family.name}" has no exportOnnx`);
  const expected = Float64Array.from(await family.load(saved, context).predict(X));
  const g = new GraphBuilder(['features', 'scores']);
  g.node('Identity', [family.exportOnnx(saved, g, 'features', context)], {}, 'scores');
  const bytes = modelBytes(g, [valueInfo('features', DOUBLE, ['N', X.cols])], [valueInfo('scores', DOUBLE)]);
  const out = await run(bytes, { features: new Tensor('float64', X.data, [X.rows, X.cols]) });
  return maxAbsDiff(out.scores.data as Float64Array, expected, `${family.name} scores`);
}

/**
 * Max |transform - the step's ONNX form| on `table`: every numeric column of the transformed table,
 * string columns compared for equality (a missing value is "" in the graph), the sparse block, and
 * the refused rows (whose values are not compared: the JS step leaves them unspecified). The graph
 * reads every numeric and string column of `table` as a raw [N, 1] input.
 */
export async function stepOnnxParity(kind: StepKind, state: StepState, table: Table): Promise<number> {
  if (!kind.exportOnnx) throw new Error(`step kind "${kind.name}" has no exportOnnx`);
  const step = kind.load(JSON.parse(JSON.stringify(state)));
  const rowErrors: RowErrors = new Map();
  const sparse = step.sparse?.transform(table, rowErrors);
  const expected = step.transform(table, rowErrors);

  const inputs = [...table.columns]
    .filter(([, column]) => isNumericColumn(column) || isStringColumn(column))
    .map(([name, column]) => ({
      name,
      kind: isNumericColumn(column) ? ('numeric' as const) : ('string' as const),
    }));
  const outputs = [...expected.columns].filter(([, c]) => isNumericColumn(c) || isStringColumn(c));
  const reserved = [...inputs.map((i) => i.name), ...outputs.map((_, j) => `out_${j}`), 'sparse', 'refused'];
  const g = new GraphBuilder(reserved);
  const columns = new OnnxColumns(g, inputs);
  kind.exportOnnx(step.state, g, columns);

  const graphOutputs: OnnxTypes.IValueInfoProto[] = [];
  outputs.forEach(([name, column], j) => {
    if (!columns.has(name)) throw new Error(`the ONNX form has no column "${name}", which transform gives`);
    const numeric = isNumericColumn(column);
    if (columns.kind(name) !== (numeric ? 'numeric' : 'string'))
      throw new Error(
        `column "${name}" is ${columns.kind(name)} in the ONNX form, ${column.type} in transform`,
      );
    g.node('Identity', [numeric ? columns.numeric(name) : columns.string(name)], {}, `out_${j}`);
    graphOutputs.push(valueInfo(`out_${j}`, numeric ? DOUBLE : STRING, ['N', 1]));
  });
  const known = new Set([...outputs.map(([name]) => name), ...(step.sparse?.featureNames ?? [])]);
  const extra = columns.names().filter((name) => !known.has(name));
  if (extra.length > 0) throw new Error(`the ONNX form has columns transform has not: ${extra.join(', ')}`);
  if (step.sparse && sparse) {
    g.node('Identity', [columns.matrix(step.sparse.featureNames)], {}, 'sparse');
    graphOutputs.push(valueInfo('sparse', DOUBLE, ['N', sparse.cols]));
  }
  const refused = columns.refusedRows();
  if (refused) {
    g.node('Identity', [refused], {}, 'refused');
    graphOutputs.push(valueInfo('refused', BOOL, ['N', 1]));
  }
  const graphInputs = inputs.map(({ name, kind }) =>
    valueInfo(name, kind === 'numeric' ? DOUBLE : STRING, ['N', 1]),
  );
  const feeds: Record<string, Tensor> = {};
  for (const { name } of inputs) {
    const column = table.columns.get(name)!;
    feeds[name] = isNumericColumn(column)
      ? new Tensor('float64', column.values, [table.nRows, 1])
      : new Tensor(
          'string',
          (column.values as (string | null)[]).map((v) => v ?? ''),
          [table.nRows, 1],
        );
  }
  const out = await run(modelBytes(g, graphInputs, graphOutputs), feeds);

  // Refused rows: the same on both sides; their values are not compared.
  const onnxRefused = new Set<number>();
  if (refused) {
    const flags = out.refused.data as Uint8Array;
    for (let i = 0; i < flags.length; i++) if (flags[i]) onnxRefused.add(i);
  }
  const jsRefused = new Set(rowErrors.keys());
  for (let i = 0; i < table.nRows; i++) {
    if (onnxRefused.has(i) !== jsRefused.has(i))
      throw new Error(
        `row ${i} is refused by ${jsRefused.has(i) ? `transform (${rowErrors.get(i)})` : 'the ONNX form'} only`,
      );
  }
  const skip = (i: number) => jsRefused.has(i);
  let max = 0;
  outputs.forEach(([name, column], j) => {
    const got = out[`out_${j}`].data;
    if (isNumericColumn(column)) {
      max = Math.max(max, maxAbsDiff(got as Float64Array, column.values, `column "${name}"`, 1, skip));
    } else {
      (column.values as (string | null)[]).forEach((v, i) => {
        if (!skip(i) && (v ?? '') !== (got as string[])[i])
          throw new Error(
            `column "${name}" row ${i}: transform ${JSON.stringify(v)}, ONNX ${JSON.stringify(got[i])}`,
          );
      });
    }
  });
  if (sparse) {
    const dense = new Float64Array(sparse.rows * sparse.cols);
    for (let r = 0; r < sparse.rows; r++)
      for (let q = sparse.indptr[r]; q < sparse.indptr[r + 1]; q++)
        dense[r * sparse.cols + sparse.indices[q]] = sparse.data[q];
    max = Math.max(
      max,
      maxAbsDiff(out.sparse.data as Float64Array, dense, 'sparse block', sparse.cols, skip),
    );
  }
  return max;
}

function modelBytes(
  g: GraphBuilder,
  inputs: OnnxTypes.IValueInfoProto[],
  outputs: OnnxTypes.IValueInfoProto[],
): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: g.opsetImports(ONNX_OPSET),
    producerName: 'kiln-contract',
    graph: g.graph('parity', inputs, outputs),
  });
  return onnx.ModelProto.encode(model).finish();
}

async function run(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    return (await session.run(feeds)) as Record<string, Tensor>;
  } finally {
    await session.release();
  }
}

/** Max |a - b| (NaN equal to NaN), skipping the rows `skip` names; `width` values per row. */
function maxAbsDiff(
  got: Float64Array,
  expected: ArrayLike<number>,
  what: string,
  width = 1,
  skip: (row: number) => boolean = () => false,
): number {
  if (got.length !== expected.length)
    throw new Error(`${what}: ONNX gives ${got.length} values, JS ${expected.length}`);
  let max = 0;
  for (let q = 0; q < got.length; q++) {
    const row = Math.floor(q / width);
    if (skip(row)) continue;
    const a = got[q];
    const b = expected[q];
    if (Number.isNaN(a) !== Number.isNaN(b))
      throw new Error(`${what}: value ${q} (row ${row}) is ${a} in ONNX, ${b} in JS`);
    if (!Number.isNaN(a)) max = Math.max(max, Math.abs(a - b));
  }
  return max;
}
