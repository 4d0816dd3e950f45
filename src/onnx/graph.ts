/**
 * A small builder of ONNX graphs (onnx-proto messages), shared by every exporter: the package's
 * feature steps, text steps and model families all emit their nodes through one `GraphBuilder`.
 *
 * - `node` / `nodes` add a node (any domain; the builder records each non-default domain it sees so
 *   `opsetImports` can declare them); attributes may be ints, floats, strings, lists of those,
 *   tensors or subgraphs (`{ graph }`, e.g. a Loop body built with `subgraph`);
 * - constants become initializers; small ones are shared (0, 1, NaN, "" recur across steps);
 * - tensor names are fresh (`kiln/<op>_<k>`) and never collide with the reserved names (the graph's
 *   inputs and outputs) nor with names used by any enclosing or nested graph.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is a CommonJS bundle whose named export Node's ESM loader cannot see.
const require = createRequire(import.meta.url);
export const { onnx } = require('onnx-proto') as { onnx: typeof OnnxTypes };
export type { OnnxTypes };

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const DOUBLE = onnx.TensorProto.DataType.DOUBLE;
export const STRING = onnx.TensorProto.DataType.STRING;
export const BOOL = onnx.TensorProto.DataType.BOOL;
export const INT32 = onnx.TensorProto.DataType.INT32;
export const INT64 = onnx.TensorProto.DataType.INT64;

/** Domain of the ONNX-ML operators (LabelEncoder, ...). */
export const ML_DOMAIN = 'ai.onnx.ml';
/** Domain of onnxruntime's contrib operators (Tokenizer, ...). */
export const MS_DOMAIN = 'com.microsoft';

/**
 * Opset version imported for each non-default domain a graph uses: ai.onnx.ml 3 (LabelEncoder with
 * string, int64 and float keys and values, from version 2); com.microsoft has a single version.
 */
export const DOMAIN_OPSETS: Readonly<Record<string, number>> = { [ML_DOMAIN]: 3, [MS_DOMAIN]: 1 };

/**
 * `{ float }` marks a FLOAT attribute (a bare number is an INT one); `{ graph }` a GRAPH one; `{ bytes }`
 * a STRINGS one given as raw bytes (strings are written with `encodeString`).
 */
export type AttributeValue =
  | number
  | readonly number[]
  | string
  | readonly string[]
  | { readonly bytes: readonly Uint8Array[] }
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly graph: OnnxTypes.IGraphProto }
  | { readonly tensor: OnnxTypes.ITensorProto };

/** A column of a [N, width] double block: what `GraphBuilder.column` picks out. */
export interface BlockColumn {
  readonly block: string;
  readonly index: number;
  readonly width: number;
}

export function valueInfo(
  name: string,
  elemType: number,
  dims?: readonly (number | string)[],
): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        ...(dims === undefined
          ? {}
          : { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } }),
      },
    },
  };
}

const AttrType = onnx.AttributeProto.AttributeType;
const UTF8 = new TextEncoder();
const SURROGATE = /[\ud800-\udfff]/;

/**
 * The bytes of a string in an ONNX tensor or attribute: UTF-8, except that an unpaired UTF-16 surrogate
 * (a JavaScript string can hold one, e.g. half of an emoji cut by a char n-gram) is written as its own
 * three-byte sequence (WTF-8) instead of U+FFFD, so distinct JS strings stay distinct byte strings.
 */
export function encodeString(value: string): Uint8Array {
  if (!SURROGATE.test(value)) return UTF8.encode(value);
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    let cp = value.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else {
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    }
  }
  return Uint8Array.from(out);
}

function attribute(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  if (typeof value === 'number') return { name, type: AttrType.INT, i: value };
  if (typeof value === 'string') return { name, type: AttrType.STRING, s: encodeString(value) };
  if (Array.isArray(value)) {
    const list = value as readonly (number | string)[];
    if (list.length > 0 && typeof list[0] === 'string') {
      return { name, type: AttrType.STRINGS, strings: list.map((s) => encodeString(s as string)) };
    }
    return { name, type: AttrType.INTS, ints: [...(list as number[])] };
  }
  const v = value as Exclude<AttributeValue, number | string | readonly unknown[]>;
  if ('bytes' in v) return { name, type: AttrType.STRINGS, strings: [...v.bytes] };
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: AttrType.FLOATS, floats: [...v.floats] };
  if ('graph' in v) return { name, type: AttrType.GRAPH, g: v.graph };
  return { name, type: AttrType.TENSOR, t: v.tensor };
}

/** Names and domains shared by a graph and all its subgraphs. */
export interface GraphScope {
  readonly taken: Set<string>;
  readonly domains: Set<string>;
  counter: number;
}

export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly shared: GraphScope;
  private readonly constants = new Map<string, string>();
  private readonly gathered = new Map<string, string>();

  /** `reserved`: names fresh tensors must not take (the graph's inputs and outputs). */
  constructor(reserved: readonly string[] = [], shared?: GraphScope) {
    this.shared = shared ?? { taken: new Set(), domains: new Set(), counter: 0 };
    for (const name of reserved) this.shared.taken.add(name);
  }

  /** A fresh tensor name that no reserved name can shadow. */
  fresh(hint: string): string {
    let name: string;
    do name = `kiln/${hint}_${this.shared.counter++}`;
    while (this.shared.taken.has(name));
    this.shared.taken.add(name);
    return name;
  }

  /** Adds a node with one output (named `output`, or fresh) and returns that output's name. */
  node(
    op: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
    output?: string,
    domain = '',
  ): string {
    return this.nodeN(op, inputs, 1, attributes, domain, output === undefined ? undefined : [output])[0];
  }

  /** A node of a non-default domain (ai.onnx.ml, com.microsoft) with one output. */
  op(domain: string, op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}) {
    return this.node(op, inputs, attributes, undefined, domain);
  }

  /** Adds a node with `count` outputs (named `outputs`, or fresh) and returns their names. */
  nodeN(
    op: string,
    inputs: readonly string[],
    count: number,
    attributes: Record<string, AttributeValue> = {},
    domain = '',
    outputs?: readonly string[],
  ): string[] {
    const outs = outputs ? [...outputs] : Array.from({ length: count }, () => this.fresh(op));
    for (const out of outs) this.shared.taken.add(out);
    if (domain !== '') this.shared.domains.add(domain);
    this.nodes.push({
      opType: op,
      name: outs[0] ?? this.fresh(op),
      input: [...inputs],
      output: outs,
      ...(domain === '' ? {} : { domain }),
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outs;
  }

  /**
   * A builder for a subgraph (a Loop or If body): its names never collide with this graph's, it may
   * read any tensor of the enclosing graphs by name, and its domains count for `opsetImports`.
   */
  subgraph(): GraphBuilder {
    return new GraphBuilder([], this.shared);
  }

  /** The GraphProto of this builder with the given inputs and outputs (for subgraphs and models). */
  graph(
    name: string,
    inputs: readonly OnnxTypes.IValueInfoProto[],
    outputs: readonly OnnxTypes.IValueInfoProto[],
    docString?: string,
  ): OnnxTypes.IGraphProto {
    return {
      name,
      node: this.nodes,
      initializer: this.initializers,
      input: [...inputs],
      output: [...outputs],
      ...(docString === undefined ? {} : { docString }),
    };
  }

  /** Opset imports for a model whose graph is this builder's: the default domain and each used one. */
  opsetImports(defaultVersion: number): OnnxTypes.IOperatorSetIdProto[] {
    return [
      { domain: '', version: defaultVersion },
      ...[...this.shared.domains].sort().map((domain) => ({ domain, version: DOMAIN_OPSETS[domain] ?? 1 })),
    ];
  }

  /** Column of a block as a [N, 1] tensor, gathered once per column. */
  column(col: BlockColumn): string {
    if (col.width === 1) return col.block;
    const key = `${col.block}#${col.index}`;
    let out = this.gathered.get(key);
    if (!out) {
      out = this.node('Gather', [col.block, this.int64s([col.index], [1])], { axis: 1 });
      this.gathered.set(key, out);
    }
    return out;
  }

  doubles(values: readonly number[], dims: readonly number[] = []): string {
    return this.constant(DOUBLE, dims, values, { doubleData: [...values] });
  }

  floats(values: readonly number[], dims: readonly number[] = []): string {
    return this.constant(FLOAT, dims, values, { floatData: [...values] });
  }

  strings(values: readonly string[], dims: readonly number[] = []): string {
    return this.constant(STRING, dims, values, { stringData: values.map(encodeString) });
  }

  int64s(values: readonly number[], dims: readonly number[]): string {
    return this.constant(INT64, dims, values, { int64Data: [...values] });
  }

  bools(values: readonly boolean[], dims: readonly number[] = []): string {
    return this.constant(
      BOOL,
      dims,
      values.map((b) => (b ? 1 : 0)),
      { int32Data: values.map((b) => (b ? 1 : 0)) },
    );
  }

  private constant(
    dataType: number,
    dims: readonly number[],
    values: readonly (number | string)[],
    data: OnnxTypes.ITensorProto,
  ): string {
    const key = values.length <= 4 ? JSON.stringify([dataType, dims, values.map(String)]) : undefined;
    const cached = key === undefined ? undefined : this.constants.get(key);
    if (cached) return cached;
    const name = this.fresh('const');
    this.initializers.push({ name, dataType, dims: [...dims], ...data });
    if (key !== undefined) this.constants.set(key, name);
    return name;
  }
}
