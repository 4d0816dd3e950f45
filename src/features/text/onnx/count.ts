/**
 * Term counts of each row from a stream of items (word tokens, or char_wb UTF-16 units), as sparse
 * (row, column, count) triplets sorted by row then column, i.e. in the JS step's CSR order.
 *
 * For each n-gram length the vocabulary has, the window of n items starting at each stream position is
 * joined (StringConcat; tokens with a space between, as the vocabulary spells word n-grams) and looked
 * up in one LabelEncoder from term to column; a window holding a breaker (ROW, or the char_wb word
 * break) counts nothing. Each hit becomes the code row·F + column, and Unique (sorted) gives every
 * distinct code once with its count. This costs the batch's total length times the n-gram lengths; it
 * replaces TfIdfVectorizer, whose [N, C] input is as wide as the batch's longest row and whose float
 * output is as wide as the vocabulary, both far costlier for batches of short and long texts together.
 */
import { DOUBLE, type GraphBuilder, ML_DOMAIN } from '../../../onnx/graph.js';
import { compact, eq, not, or, ROW, scalar, shift, shiftStrings, toInt } from './ops.js';

export interface TermTable {
  /** Each term's key as the joined window's bytes would spell it, in column order. */
  readonly keys: readonly Uint8Array[];
  /** Each term's length in items. */
  readonly lengths: readonly number[];
}

export interface Counts {
  /** [K] int64 each. */
  readonly row: string;
  readonly column: string;
  /** [K] double. */
  readonly count: string;
}

export function countTerms(
  g: GraphBuilder,
  items: string,
  table: TermTable,
  joiner: string,
  breakers: readonly string[],
): Counts {
  const F = table.keys.length;
  const isRow = eq(g, items, g.strings([ROW]));
  const row = g.node('Sub', [g.node('CumSum', [toInt(g, isRow), scalar(g, 1)]), scalar(g, 1)]);
  const broken = or(g, isRow, ...breakers.filter((b) => b !== ROW).map((b) => eq(g, items, g.strings([b]))));
  const lengths = new Set(table.lengths);
  const longest = Math.max(...lengths);
  const yes = g.bools([true]);
  let key = items;
  let bad = broken;
  const keys: string[] = [];
  const bads: string[] = [];
  for (let n = 1; n <= longest; n++) {
    if (n > 1) {
      const next = shiftStrings(g, items, -(n - 1), '');
      key = g.node('StringConcat', [
        joiner === '' ? key : g.node('StringConcat', [key, g.strings([joiner])]),
        next,
      ]);
      bad = g.node('Or', [bad, shift(g, broken, -(n - 1), yes)]);
    }
    if (lengths.has(n)) {
      keys.push(key);
      bads.push(bad);
    }
  }
  const cat = (xs: string[]) => (xs.length === 1 ? xs[0] : g.node('Concat', xs, { axis: 1 }));
  const column = g.op(ML_DOMAIN, 'LabelEncoder', [cat(keys)], {
    keys_strings: { bytes: table.keys },
    values_int64s: table.keys.map((_, j) => j),
    default_int64: -1,
  });
  const rows = cat(keys.map(() => row));
  const hit = g.node('And', [not(g, cat(bads)), g.node('GreaterOrEqual', [column, scalar(g, 0)])]);
  const code = g.node('Add', [g.node('Mul', [rows, scalar(g, F)]), column]);
  // One -1 in front: Unique never sees an empty list, and it sorts first, where it is cut off.
  const codes = g.node(
    'Concat',
    [g.int64s([-1], [1]), g.node('Squeeze', [compact(g, code, hit), g.int64s([0], [1])])],
    {
      axis: 0,
    },
  );
  const [distinct, , , counts] = g.nodeN('Unique', [codes], 4, { sorted: 1 });
  const rest = (x: string) =>
    g.node('Slice', [x, g.int64s([1], [1]), g.int64s([2 ** 62], [1]), g.int64s([0], [1])]);
  const found = rest(distinct);
  return {
    row: g.node('Div', [found, scalar(g, F)]),
    column: g.node('Mod', [found, scalar(g, F)]),
    count: g.node('Cast', [rest(counts)], { to: DOUBLE }),
  };
}
