/**
 * `normalizeText` as a graph: raw texts [N, 1] → the stream of their normalised code points (ops.ts),
 * without the whitespace collapse (the analyzers treat every whitespace character as a break).
 *
 * 1. the com.microsoft Tokenizer splits each text into code points, gathered into one stream;
 * 2. a LabelEncoder maps each character that normalisation changes (NFKC, lower case, NFKD without
 *    nonspacing marks, apostrophes; accents kept: NFD of that) to what it becomes, Where keeps the
 *    others; a capital sigma becomes ς instead of σ where toLowerCase's Final_Sigma context holds
 *    (decided on the raw characters from case-ignorable / cased tables, inside an If);
 * 3. the mapped pieces (zero or more code points each) are split again and compacted;
 * 4. canonical reordering of marks and, accents kept, canonical composition (compose.ts).
 * With accents stripped, `normalizeText` is the concatenation of the per-character results; with
 * accents kept, it is their NFC: 1-4 compute exactly that (tested against `normalizeText`).
 */
import { BOOL, type GraphBuilder, ML_DOMAIN, STRING, valueInfo } from '../../../onnx/graph.js';
import type { NormalizeOptions } from '../normalize.js';
import { composeAdjacent, composeBlocked, reorder } from './compose.js';
import {
  and,
  compact,
  eq,
  lastIndexWhere,
  not,
  positions,
  ROW,
  scalar,
  shift,
  splitCodePoints,
  streamOf,
  toInt,
  where,
} from './ops.js';
import {
  combiningClassRanks,
  compositionPairs,
  FINAL_SIGMA,
  normalizationTable,
  sigmaContextTable,
} from './tables.js';

/** LabelEncoder's default for "not in the table": no normalised character is this string. */
const UNMAPPED = '\u0001\u0002';

/** Maps each element through `table`, leaving elements not in it unchanged. */
export function mapStrings(g: GraphBuilder, x: string, table: ReadonlyMap<string, string>): string {
  if (table.size === 0) return x;
  if ([...table.values()].includes(UNMAPPED))
    throw new Error('a table value collides with the unmapped marker');
  const mapped = g.op(ML_DOMAIN, 'LabelEncoder', [x], {
    keys_strings: [...table.keys()],
    values_strings: [...table.values()],
    default_string: UNMAPPED,
  });
  return where(g, eq(g, mapped, g.strings([UNMAPPED])), x, mapped);
}

/** int64 code of each element by `table` (keys → values), `otherwise` for the rest. */
export function lookup(
  g: GraphBuilder,
  x: string,
  table: ReadonlyMap<string, number>,
  otherwise = 0,
): string {
  if (table.size === 0)
    return g.node('Add', [
      g.node('Mul', [toInt(g, eq(g, x, x)), g.int64s([0], [])]),
      g.int64s([otherwise], []),
    ]);
  return g.op(ML_DOMAIN, 'LabelEncoder', [x], {
    keys_strings: [...table.keys()],
    values_int64s: [...table.values()],
    default_int64: otherwise,
  });
}

/** [N, 1] texts → their normalised code points as a stream [1, S] (see ops.ts). */
export function normalizedCodePoints(g: GraphBuilder, text: string, options: NormalizeOptions): string {
  const raw = streamOf(g, text);
  let mapped = mapStrings(g, raw, normalizationTable(options));
  if (options.lowercase) mapped = finalSigma(g, raw, mapped);
  // Split the mapped characters into code points; a ROW (two code points) stays one element.
  const split = splitCodePoints(g, mapped);
  const isRow = g.node('Unsqueeze', [eq(g, mapped, g.strings([ROW])), g.int64s([2], [1])]);
  const first = g.node('Unsqueeze', [
    eq(g, positions(g, g.node('Squeeze', [split, g.int64s([0], [1])])), scalar(g, 0)),
    g.int64s([0], [1]),
  ]);
  const pieces = g.node(
    'Flatten',
    [where(g, isRow, where(g, first, g.strings([ROW]), g.strings([''])), split)],
    {
      axis: 1,
    },
  );
  const ranks = combiningClassRanks(options);
  const chars = reorder(g, compact(g, pieces, not(g, eq(g, pieces, g.strings([''])))), ranks);
  if (options.stripAccents) return chars;
  const pairs = compositionPairs();
  return composeBlocked(g, composeAdjacent(g, chars, pairs), pairs, ranks);
}

/**
 * Σ lower-cases to ς when a cased letter precedes it and none follows, case-ignorable characters
 * skipped (toLowerCase's Final_Sigma): decided on the raw characters by what each one's NFKC form
 * shows its neighbours, found with "last index where" scans to the left and, on the reversed stream,
 * to the right. Inside an If: a batch without capital sigma skips it.
 */
function finalSigma(g: GraphBuilder, raw: string, mapped: string): string {
  const { classes, sigmas } = sigmaContextTable();
  const isSigma = eq(g, lookup(g, raw, new Map(sigmas.map((s) => [s, 1]))), scalar(g, 1));
  const any = g.node('Cast', [g.node('ReduceMax', [toInt(g, isSigma)], { keepdims: 0 })], { to: BOOL });

  const b = g.subgraph();
  const cls = lookup(b, raw, classes);
  const counted = not(b, eq(b, cls, scalar(b, 4)));
  const casedOnRight = eq(b, b.node('Mod', [b.node('Div', [cls, scalar(b, 2)]), scalar(b, 2)]), scalar(b, 1));
  const casedOnLeft = eq(b, b.node('Mod', [cls, scalar(b, 2)]), scalar(b, 1));
  const before = nearestBefore(b, counted, casedOnRight);
  const reverse = (x: string) =>
    b.node('Slice', [
      x,
      b.int64s([-1], [1]),
      b.int64s([-(2 ** 62)], [1]),
      b.int64s([1], [1]),
      b.int64s([-1], [1]),
    ]);
  const after = reverse(nearestBefore(b, reverse(counted), reverse(casedOnLeft)));
  const final = and(b, isSigma, before, not(b, after));
  const fixed = where(b, final, b.strings([FINAL_SIGMA]), mapped);
  const keep = g.subgraph();
  const same = keep.node('Identity', [mapped]);
  const [out] = g.nodeN('If', [any], 1, {
    then_branch: { graph: b.graph('final_sigma', [], [valueInfo(fixed, STRING)]) },
    else_branch: { graph: keep.graph('no_sigma', [], [valueInfo(same, STRING)]) },
  });
  return out;
}

/** For each position, `value` at the nearest earlier position where `counted` holds (false if none). */
function nearestBefore(g: GraphBuilder, counted: string, value: string): string {
  const last = shift(g, lastIndexWhere(g, counted), 1, g.int64s([-1], []));
  const found = g.node('GreaterOrEqual', [last, scalar(g, 0)]);
  const at = g.node('GatherElements', [value, g.node('Max', [last, scalar(g, 0)])], { axis: 1 });
  return g.node('And', [found, at]);
}
