/**
 * The columns of a table while feature steps run inside an ONNX graph: what each step's `exportOnnx`
 * reads and writes, as the JS steps read and write table columns.
 *
 * - a numeric column is a [N, 1] tensor(double), NaN for a missing value; several columns may share one
 *   [N, w] block (one-hot dummies, a TF-IDF block), each then being column `index` of it;
 * - a string column is a [N, 1] tensor(string) with "" for a missing value (tensors cannot hold null),
 *   so a level or fill equal to "" cannot be told from a missing value and is refused at export;
 * - rows a step refuses (an unseen level under `unseen: 'error'`) are [N, 1] bool tensors, true where
 *   refused; the exporter ORs them and gives those rows NaN scores.
 */
import { OnnxExportError } from './errors.js';
import { type BlockColumn, BOOL, DOUBLE, type GraphBuilder } from './graph.js';

/** The graph's missing value of a string column. */
export const MISSING_STRING = '';

export type OnnxColumnKind = 'numeric' | 'string';

interface NumericColumn extends BlockColumn {
  readonly kind: 'numeric';
}
interface StringColumn {
  readonly kind: 'string';
  readonly tensor: string;
}
type Column = NumericColumn | StringColumn;

export class OnnxColumns {
  private readonly columns = new Map<string, Column>();
  private readonly refused: string[] = [];
  private shape: string | undefined;
  private count: string | undefined;

  /**
   * @param inputs the graph's raw column inputs, [N, 1] each: numeric ones tensor(double), string
   *   ones tensor(string); the first one also gives the batch's row count
   */
  constructor(
    readonly graph: GraphBuilder,
    private readonly inputs: readonly { readonly name: string; readonly kind: OnnxColumnKind }[],
  ) {
    for (const { name, kind } of inputs) {
      this.columns.set(name, kind === 'numeric' ? single(name) : { kind: 'string', tensor: name });
    }
  }

  has(name: string): boolean {
    return this.columns.has(name);
  }

  kind(name: string): OnnxColumnKind {
    return this.get(name).kind;
  }

  /** Names of the columns present, in the order they were first set. */
  names(): string[] {
    return [...this.columns.keys()];
  }

  /** A numeric column as a [N, 1] double tensor (NaN for missing). */
  numeric(name: string): string {
    const col = this.get(name);
    if (col.kind !== 'numeric')
      throw new OnnxExportError(`column "${name}" is a string column, expected numeric`);
    return this.graph.column(col);
  }

  /** A string column as a [N, 1] string tensor ("" for missing). */
  string(name: string): string {
    const col = this.get(name);
    if (col.kind !== 'string')
      throw new OnnxExportError(`column "${name}" is numeric, expected a string column`);
    return col.tensor;
  }

  setNumeric(name: string, tensor: string): void {
    this.columns.set(name, single(tensor));
  }

  setString(name: string, tensor: string): void {
    this.columns.set(name, { kind: 'string', tensor });
  }

  /** Column j of `block`, a [N, names.length] double tensor, becomes the numeric column names[j]. */
  setBlock(names: readonly string[], block: string): void {
    names.forEach((name, index) => {
      this.columns.set(name, { kind: 'numeric', block, index, width: names.length });
    });
  }

  delete(name: string): void {
    this.columns.delete(name);
  }

  /** Marks rows as refused: `rows` is a [N, 1] bool tensor, true for a refused row. */
  refuse(rows: string): void {
    this.refused.push(rows);
  }

  /** [N, 1] bool, true for rows any step refused; undefined when no step refuses any. */
  refusedRows(): string | undefined {
    if (this.refused.length === 0) return undefined;
    return this.refused.reduce((acc, t) => this.graph.node('Or', [acc, t]));
  }

  /** [N, 1] bool: whether the string column's value is missing (""). */
  isMissing(name: string): string {
    return isMissingString(this.graph, this.string(name));
  }

  /** The int64 shape [N, 1] of one column of this batch (taken from the first graph input). */
  rowShape(): string {
    this.shape ??= this.graph.node('Shape', [this.firstInput()]);
    return this.shape;
  }

  /** The int64 [1] tensor holding N, the batch's row count. */
  rowCount(): string {
    this.count ??= this.graph.node('Shape', [this.firstInput()], { start: 0, end: 1 });
    return this.count;
  }

  private firstInput(): string {
    const first = this.inputs[0];
    if (!first) throw new OnnxExportError('the graph has no input to take the row count from');
    return first.name;
  }

  /**
   * The numeric columns `names` side by side, [N, names.length] double: each distinct block is
   * concatenated once and the columns gathered out of it only where the order needs it.
   */
  matrix(names: readonly string[]): string {
    const g = this.graph;
    const cols = names.map((name) => {
      const col = this.get(name);
      if (col.kind !== 'numeric')
        throw new OnnxExportError(`feature "${name}" is a string column after the steps`);
      return col;
    });
    if (cols.length === 0) {
      // No feature: [N, 0].
      const shape = g.node('Concat', [this.rowCount(), g.int64s([0], [1])], { axis: 0 });
      return g.node('ConstantOfShape', [shape], {
        value: { tensor: { dataType: DOUBLE, dims: [1], doubleData: [0] } },
      });
    }
    const offsets = new Map<string, number>();
    const blocks: string[] = [];
    let width = 0;
    for (const col of cols) {
      if (offsets.has(col.block)) continue;
      offsets.set(col.block, width);
      blocks.push(col.block);
      width += col.width;
    }
    const indices = cols.map((col) => offsets.get(col.block)! + col.index);
    let X = blocks.length === 1 ? blocks[0] : g.node('Concat', blocks, { axis: 1 });
    if (width !== indices.length || indices.some((j, i) => j !== i)) {
      X = g.node('Gather', [X, g.int64s(indices, [indices.length])], { axis: 1 });
    }
    return X;
  }

  private get(name: string): Column {
    const col = this.columns.get(name);
    if (!col) throw new OnnxExportError(`no column "${name}" at this step`);
    return col;
  }
}

const single = (tensor: string): NumericColumn => ({ kind: 'numeric', block: tensor, index: 0, width: 1 });

/** [N, 1] bool: whether the [N, 1] string tensor x holds the missing value "". */
export function isMissingString(g: GraphBuilder, x: string): string {
  return g.node('Equal', [x, g.strings([MISSING_STRING])]);
}

/** A string level or fill of "" would be indistinguishable from the graph's missing value. */
export function assertNoMissingMarker(values: readonly string[], what: string): void {
  if (values.includes(MISSING_STRING)) {
    throw new OnnxExportError(`${what}: "" is reserved for a missing value in the ONNX graph`);
  }
}

/** [N, 1] bool: whether the [N, 1] string tensor x equals one of `values` (false everywhere when none). */
export function equalsAny(g: GraphBuilder, x: string, values: readonly string[]): string {
  if (values.length === 0) return g.node('Not', [g.node('Equal', [x, x])]);
  if (values.length === 1) return g.node('Equal', [x, g.strings([values[0]])]);
  const matches = g.node('Cast', [g.node('Equal', [x, g.strings(values, [1, values.length])])], {
    to: DOUBLE,
  });
  return g.node('Cast', [g.node('ReduceMax', [matches, g.int64s([1], [1])], { keepdims: 1 })], { to: BOOL });
}
