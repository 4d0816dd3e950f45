/**
 * Graph helpers for the text steps. The text of a whole batch is processed as one *stream*, a [1, S]
 * tensor of strings (one code point, token or n-gram item per element) in which a ROW element
 * precedes each row's elements: every step then costs the batch's total length, not N times its
 * longest text, and ROW, which is no code point, breaks words, tokens and n-grams between rows.
 * `rows` turns a stream back into an [N, C] tensor for TfIdfVectorizer.
 */
import { BOOL, DOUBLE, type GraphBuilder, INT64, MS_DOMAIN, STRING, valueInfo } from '../../../onnx/graph.js';

/** Precedes each row's elements in a stream: two code points, so never a character of the text. */
export const ROW = '\u0001\u0004';

/** The largest int64 Slice bound: "to the end". */
const TO_END = 2 ** 62;

/** [1] int64: dimension `axis` of `x`. */
export function dim(g: GraphBuilder, x: string, axis: number): string {
  return g.node('Shape', [x], { start: axis, end: axis + 1 });
}

export const and = (g: GraphBuilder, ...xs: string[]) => xs.reduce((a, b) => g.node('And', [a, b]));
export const or = (g: GraphBuilder, ...xs: string[]) => xs.reduce((a, b) => g.node('Or', [a, b]));
export const not = (g: GraphBuilder, x: string) => g.node('Not', [x]);
export const where = (g: GraphBuilder, c: string, a: string, b: string) => g.node('Where', [c, a, b]);
export const eq = (g: GraphBuilder, a: string, b: string) => g.node('Equal', [a, b]);
export const toInt = (g: GraphBuilder, x: string) => g.node('Cast', [x], { to: INT64 });
export const scalar = (g: GraphBuilder, v: number) => g.int64s([v], []);

/** [N, k] filled with the scalar `fill` (k a [1] int64 tensor or a number), N taken from `like`. */
export function filled(g: GraphBuilder, like: string, fill: string, k: string | number): string {
  const width = typeof k === 'number' ? g.int64s([k], [1]) : k;
  return g.node('Expand', [fill, g.node('Concat', [dim(g, like, 0), width], { axis: 0 })]);
}

/** Columns [start, end) of a [N, W] tensor (negative bounds count from the end, as in Slice). */
export function columns(
  g: GraphBuilder,
  x: string,
  start: number | string,
  end: number | string = TO_END,
): string {
  const bound = (b: number | string) => (typeof b === 'number' ? g.int64s([b], [1]) : b);
  return g.node('Slice', [x, bound(start), bound(end), g.int64s([1], [1])]);
}

/**
 * out[:, p] = x[:, p - k] (k > 0: the value k columns to the left; k < 0: to the right), `fill` (a
 * scalar tensor) where that falls outside; same width: one Pad with a negative end. For numbers and
 * booleans; strings (which Pad does not take) use `shiftStrings`.
 */
export function shift(g: GraphBuilder, x: string, k: number, fill: string): string {
  if (k === 0) return x;
  return g.node('Pad', [x, g.int64s([0, k, 0, -k], [4]), fill], { mode: 'constant' });
}

/** `shift` of a [1, W] stream of strings, `fill` (a string) where that falls outside; any k. */
export function shiftStrings(g: GraphBuilder, x: string, k: number, fill: string): string {
  if (k === 0) return x;
  const outside = g.strings(Array<string>(Math.abs(k)).fill(fill), [1, Math.abs(k)]);
  if (k > 0) return columns(g, g.node('Concat', [outside, x], { axis: 1 }), 0, -k);
  return columns(g, g.node('Concat', [x, outside], { axis: 1 }), -k);
}

/** [1, W] int64: 0, 1, ..., W-1. */
export function positions(g: GraphBuilder, x: string): string {
  const w = g.node('Squeeze', [dim(g, x, 1), g.int64s([0], [1])]);
  return g.node('Unsqueeze', [g.node('Range', [scalar(g, 0), w, scalar(g, 1)]), g.int64s([0], [1])]);
}

/** [K] int64: the positions of a [1, W] mask where it holds, ascending. */
function where1(g: GraphBuilder, mask: string): string {
  const found = g.node('NonZero', [mask]);
  return g.node('Gather', [found, scalar(g, 1)], { axis: 0 });
}

/** The elements of a [1, W] stream where `keep` holds, in order: [1, K]. */
export function compact(g: GraphBuilder, x: string, keep: string): string {
  const at = g.node('Unsqueeze', [where1(g, keep), g.int64s([0], [1])]);
  return g.node('GatherElements', [x, at], { axis: 1 });
}

/**
 * [1, W] bool → [1, W] int64: for each position p, the largest q ≤ p where mask holds, or -1: the
 * positions where it holds (NonZero), picked by the running count of them (CumSum).
 */
export function lastIndexWhere(g: GraphBuilder, mask: string): string {
  const count = g.node('CumSum', [toInt(g, mask), scalar(g, 1)]);
  // A -1 in front of the positions: a count of 0 picks it.
  const found = g.node('Concat', [g.int64s([-1], [1]), where1(g, mask)], { axis: 0 });
  return g.node('Gather', [found, count], { axis: 0 });
}

/**
 * [N, C] strings → [N, C, T] code points (com.microsoft Tokenizer in character mode, "" padding). The
 * Tokenizer refuses an empty batch, so a row of "" is added and removed again; T is at least 1.
 */
export function splitCodePoints(g: GraphBuilder, x: string): string {
  const extra = g.node('Expand', [
    g.strings(['']),
    g.node('Concat', [g.int64s([1], [1]), dim(g, x, 1)], { axis: 0 }),
  ]);
  const chars = g.op(MS_DOMAIN, 'Tokenizer', [g.node('Concat', [x, extra], { axis: 0 })], {
    mark: 0,
    mincharnum: 1,
    pad_value: '',
    separators: [''],
  });
  // All-empty input gives a last axis of 0: give it one "" column.
  const blank = g.node('Expand', [
    g.strings(['']),
    g.node('Concat', [g.node('Shape', [chars], { start: 0, end: 2 }), g.int64s([1], [1])], { axis: 0 }),
  ]);
  const padded = g.node('Concat', [chars, blank], { axis: 2 });
  return g.node('Slice', [padded, g.int64s([0], [1]), g.int64s([-1], [1]), g.int64s([0], [1])]);
}

/** [N, 1] texts → their code points as one stream [1, S], ROW before each row's and at the end. */
export function streamOf(g: GraphBuilder, text: string): string {
  const chars = g.node('Squeeze', [splitCodePoints(g, text), g.int64s([1], [1])]);
  const withRow = g.node('Concat', [filled(g, chars, g.strings([ROW]), 1), chars], { axis: 1 });
  const present = not(g, eq(g, withRow, g.strings([''])));
  const at = g.node('Transpose', [g.node('NonZero', [present])], { perm: [1, 0] });
  const stream = g.node('Unsqueeze', [g.node('GatherND', [withRow, at]), g.int64s([0], [1])]);
  // A last ROW, after every row: the stream is never empty, not even for a batch of no rows.
  return g.node('Concat', [stream, g.strings([ROW], [1, 1])], { axis: 1 });
}

/**
 * [N, W] strings (W ≥ 1) → [N, 1]: each row's elements concatenated in order. Padded with "" to a
 * width of 2^M, a Loop halves the width M times (neighbours joined in pairs by StringConcat, three
 * nodes an iteration), copying each byte M times.
 */
export function joinRows(g: GraphBuilder, x: string): string {
  const width = dim(g, x, 1);
  // M = ⌈log2 W⌉ in double: an M one too large only costs an iteration.
  const log2 = g.node('Div', [
    g.node('Log', [g.node('Cast', [width], { to: DOUBLE })]),
    g.doubles([Math.LN2]),
  ]);
  const trips = g.node('Cast', [g.node('Ceil', [log2])], { to: INT64 });
  const padded = g.node('Cast', [g.node('Pow', [g.doubles([2]), g.node('Cast', [trips], { to: DOUBLE })])], {
    to: INT64,
  });
  const blank = g.node('Expand', [
    g.strings(['']),
    g.node('Concat', [dim(g, x, 0), g.node('Sub', [padded, width])], { axis: 0 }),
  ]);
  const start = g.node('Concat', [x, blank], { axis: 1 });

  const body = g.subgraph();
  const iteration = body.fresh('iteration');
  const condIn = body.fresh('cond_in');
  const xin = body.fresh('rows');
  const step2 = body.int64s([2], [1]);
  const axis = body.int64s([1], [1]);
  const end = body.int64s([TO_END], [1]);
  const left = body.node('Slice', [xin, body.int64s([0], [1]), end, axis, step2]);
  const right = body.node('Slice', [xin, body.int64s([1], [1]), end, axis, step2]);
  const joined = body.node('StringConcat', [left, right]);
  const condOut = body.node('Identity', [condIn]);
  const graph = body.graph(
    'join_rows',
    [valueInfo(iteration, INT64, []), valueInfo(condIn, BOOL, []), valueInfo(xin, STRING)],
    [valueInfo(condOut, BOOL, []), valueInfo(joined, STRING)],
  );
  const [out] = g.nodeN('Loop', [g.node('Squeeze', [trips, g.int64s([0], [1])]), g.bools([true]), start], 1, {
    body: { graph },
  });
  return out;
}
