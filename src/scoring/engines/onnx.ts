import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { isNumericColumn, isStringColumn, type Table, takeRows } from '../../data/table.js';
import type { UnseenValue } from '../../features/steps/step.js';
import { ONNX_OUTPUT } from '../../packaging/onnx.js';
import { type Engine, type EngineOutput, NO_ROW_ERRORS } from '../engine.js';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxTypes };

export interface OnnxEngineOptions {
  /**
   * Threads inside one inference. Default 1: the server scales by requests (and worker threads), and
   * for batches of a few hundred rows of a linear pipeline a thread pool costs more than it saves.
   */
  intraOpNumThreads?: number;
  /**
   * Score values per row the graph must return. Default: its `kiln.width` metadata, else the count of
   * its `kiln.classes` metadata (graphs exported before `kiln.width`).
   */
  width?: number;
  /**
   * The graph output holding the scores (`onnxOutputName(task)`: `probabilities` for classification,
   * `predictions` for regression). Default: its `kiln.output` metadata, else `probabilities`.
   */
  output?: string;
  /**
   * The package's class order: the graph's `kiln.classes` metadata, when it has some, must be the same
   * (probability columns mean nothing in another order).
   */
  classes?: readonly string[];
  /**
   * Why rows were refused, for the rows the graph scored NaN: the package's JS pipeline, run on those
   * rows only. Without it they get a generic reason.
   */
  explain?: (table: Table) => ReadonlyMap<number, string>;
  /**
   * The values the graph scores without having seen them in training (unseen levels it encodes as no
   * level): the package's JS pipeline looks them up, without transforming. Without it, none are reported.
   */
  findUnseen?: (table: Table) => readonly UnseenValue[];
}

/** The reason a NaN row gets when the JS pipeline, asked, sees nothing wrong with it. */
export const GRAPH_REFUSED = 'refused by the ONNX graph (it scored NaN); the JS pipeline gives no reason';

/**
 * Runs a Kiln ONNX pipeline graph (see packaging/onnx.ts) with onnxruntime-node: one [N, 1] input per
 * raw signature column, NaN / "" for missing values, the task's output [N, width] out (`probabilities`
 * for classification, `predictions` for regression). The JS pipeline
 * does not run per request: rows the graph refuses come back NaN, and only for those rows (rare) is the
 * JS pipeline asked why, so a client still gets the row and the column.
 */
export class OnnxEngine implements Engine {
  readonly name = 'onnx' as const;

  private constructor(
    private readonly session: InferenceSession,
    /** Graph inputs with the tensor type each expects. */
    readonly inputs: readonly { readonly name: string; readonly type: 'float64' | 'string' }[],
    readonly width: number,
    /** The graph's class order (its metadata), empty when it declares none. */
    readonly classes: readonly string[],
    /** The output read: the scores. */
    readonly output: string,
    private readonly explain: OnnxEngineOptions['explain'],
    private readonly findUnseen: OnnxEngineOptions['findUnseen'],
  ) {}

  /** Loads a graph from its bytes or a `.onnx` file path. */
  static async create(model: Uint8Array | string, options: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    const bytes = typeof model === 'string' ? new Uint8Array(await readFile(model)) : model;
    const where = typeof model === 'string' ? model : 'ONNX model';
    const metadata = kilnMetadata(bytes, where);
    const classes = metadata['kiln.classes'] ? (JSON.parse(metadata['kiln.classes']) as string[]) : undefined;
    const declaredWidth = metadata['kiln.width'] ? Number(metadata['kiln.width']) : undefined;
    if (classes === undefined && options.width === undefined && declaredWidth === undefined)
      throw new Error(`${where}: no "kiln.classes" metadata; export it with exportPipelineToOnnx`);
    if (classes && options.classes && options.classes.length > 0 && !sameList(classes, options.classes))
      throw new Error(
        `${where}: the graph's classes [${classes.join(', ')}] are not the package's [${options.classes.join(', ')}]`,
      );
    const width = options.width ?? declaredWidth ?? classes!.length;
    const output = options.output ?? metadata['kiln.output'] ?? ONNX_OUTPUT;
    const session = await InferenceSession.create(bytes, {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    if (!session.outputNames.includes(output)) {
      await session.release();
      throw new Error(
        `${where}: the graph has no "${output}" output (outputs: ${session.outputNames.join(', ')})`,
      );
    }
    const inputs = session.inputMetadata.map((meta) => {
      const type = meta.isTensor ? meta.type : undefined;
      if (type !== 'float64' && type !== 'string') {
        throw new Error(
          `${where}: input "${meta.name}" is ${type ?? 'not a tensor'}; expected double or string`,
        );
      }
      return { name: meta.name, type };
    });
    return new OnnxEngine(session, inputs, width, classes ?? [], output, options.explain, options.findUnseen);
  }

  /** Row-major N x width scores; rows the graph refuses are NaN, with their reasons. */
  async score(table: Table): Promise<EngineOutput> {
    const scores = await this.run(table);
    const refused: number[] = [];
    const { width } = this;
    for (let i = 0; i < table.nRows; i++) {
      for (let c = i * width; c < (i + 1) * width; c++) {
        if (Number.isNaN(scores[c])) {
          refused.push(i);
          break;
        }
      }
    }
    const unseen = this.findUnseen?.(table);
    if (refused.length === 0) return { scores, rowErrors: NO_ROW_ERRORS, unseen };
    const reasons = this.explain?.(takeRows(table, refused));
    const rowErrors = new Map<number, string>();
    refused.forEach((row, j) => {
      scores.fill(Number.NaN, row * width, (row + 1) * width);
      rowErrors.set(row, reasons?.get(j) ?? GRAPH_REFUSED);
    });
    return { scores, rowErrors, unseen };
  }

  /** The graph's output as it is: row-major N x width, NaN rows left as the graph wrote them. */
  async run(table: Table): Promise<Float64Array> {
    const n = table.nRows;
    if (n === 0) return new Float64Array(0);
    const feeds: Record<string, Tensor> = {};
    for (const { name, type } of this.inputs) {
      const column = table.columns.get(name);
      if (!column) throw new Error(`input has no column "${name}", which the ONNX model needs`);
      if (type === 'float64' && isNumericColumn(column)) {
        feeds[name] = new Tensor('float64', column.values, [n, 1]);
      } else if (type === 'string' && isStringColumn(column)) {
        // The graph's missing value for strings is "" (tensors cannot hold null).
        feeds[name] = new Tensor(
          'string',
          column.values.map((v) => v ?? ''),
          [n, 1],
        );
      } else {
        throw new Error(
          `input column "${name}" is ${column.type}; the ONNX model expects ${type === 'float64' ? 'a numeric' : 'a string'} column`,
        );
      }
    }
    const result = await this.session.run(feeds, [this.output]);
    const output = result[this.output] as Tensor;
    if (output.type !== 'float64' || output.data.length !== n * this.width) {
      throw new Error(
        `ONNX output "${this.output}" is ${output.type} [${output.dims}], expected float64 [${n}, ${this.width}]`,
      );
    }
    return output.data as Float64Array;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** The graph's metadata_props (`kiln.classes`, `kiln.width`, `kiln.output`, ...). */
function kilnMetadata(bytes: Uint8Array, where: string): Record<string, string> {
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new Error(`${where}: not an ONNX model (${(error as Error).message})`, { cause: error });
  }
  return Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
