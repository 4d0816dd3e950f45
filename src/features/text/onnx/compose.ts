/**
 * Canonical reordering and composition (the second half of NFC) on a stream of decomposed code points,
 * vectorised over positions:
 * - reorder: each starter's marks sorted by combining class, stably (one TopK over a key made of the
 *   starter's index, the mark's class rank and the position), only when some neighbours are out of order;
 * - compose, adjacent pairs: rounds that compose each (starter, next character) pair NFC composes
 *   (Hangul jamo and the other starter pairs too), until none is left;
 * - compose, blocked marks: for a starter followed by a mark that did not compose, NFC still composes a
 *   later mark of a higher class ("a" + U+0316 + U+0301 → "á" + U+0316); a Loop over the offset j
 *   from the starter tracks, per starter, its composite so far and the class of its last kept mark.
 */
import { BOOL, type GraphBuilder, INT64, ML_DOMAIN, STRING, valueInfo } from '../../../onnx/graph.js';
import {
  and,
  compact,
  dim,
  eq,
  lastIndexWhere,
  not,
  positions,
  scalar,
  shift,
  shiftStrings,
  toInt,
  where,
} from './ops.js';

const any = (g: GraphBuilder, mask: string) =>
  g.node('Cast', [g.node('ReduceMax', [toInt(g, mask)], { keepdims: 0 })], { to: BOOL });

/** Each element's class rank (0: a starter, ROW included). */
export function classRanks(g: GraphBuilder, chars: string, ranks: ReadonlyMap<string, number>): string {
  if (ranks.size === 0) return g.node('Expand', [scalar(g, 0), g.node('Shape', [chars])]);
  return g.op(ML_DOMAIN, 'LabelEncoder', [chars], {
    keys_strings: [...ranks.keys()],
    values_int64s: [...ranks.values()],
    default_int64: 0,
  });
}

/** Marks sorted by class after their starter (canonical ordering), inside an If: most text is in order. */
export function reorder(g: GraphBuilder, chars: string, ranks: ReadonlyMap<string, number>): string {
  if (ranks.size === 0) return chars;
  const rank = classRanks(g, chars, ranks);
  const next = shift(g, rank, -1, scalar(g, 0));
  const outOfOrder = any(g, and(g, g.node('Greater', [rank, next]), g.node('Greater', [next, scalar(g, 0)])));

  const b = g.subgraph();
  const starter = eq(b, rank, scalar(b, 0));
  const group = b.node('CumSum', [toInt(b, starter), scalar(b, 1)]);
  const width = dim(b, chars, 1);
  const top = Math.max(...ranks.values()) + 1;
  // group · (top · S) + rank · S + position: ascending = groups in order, marks by class, then position.
  const key = b.node('Add', [
    b.node('Mul', [b.node('Add', [b.node('Mul', [group, scalar(b, top)]), rank]), width]),
    positions(b, chars),
  ]);
  const [, order] = b.nodeN('TopK', [key, width], 2, { axis: 1, largest: 0, sorted: 1 });
  const sorted = b.node('GatherElements', [chars, order], { axis: 1 });
  const keep = g.subgraph();
  const same = keep.node('Identity', [chars]);
  const [out] = g.nodeN('If', [outOfOrder], 1, {
    then_branch: { graph: b.graph('reorder', [], [valueInfo(sorted, STRING)]) },
    else_branch: { graph: keep.graph('in_order', [], [valueInfo(same, STRING)]) },
  });
  return out;
}

function pairLookup(g: GraphBuilder, pairs: string, table: ReadonlyMap<string, string>): string {
  return g.op(ML_DOMAIN, 'LabelEncoder', [pairs], {
    keys_strings: [...table.keys()],
    values_strings: [...table.values()],
    default_string: '',
  });
}

/**
 * Adjacent composition: each round composes every (element, next element) pair of `table` (the left
 * one of two overlapping pairs first) and drops the consumed elements; rounds repeat while any composed.
 */
export function composeAdjacent(g: GraphBuilder, chars: string, table: ReadonlyMap<string, string>): string {
  const composable = (b: GraphBuilder, y: string) =>
    pairLookup(b, b.node('StringConcat', [y, shiftStrings(b, y, -1, '')]), table);
  const firsts = (b: GraphBuilder, composed: string) => {
    const composes = not(b, eq(b, composed, b.strings([''])));
    return and(b, composes, not(b, shift(b, composes, 1, b.bools([false]))));
  };
  // The first lookup outside the Loop: text with no composable pair runs no iteration.
  const composed0 = composable(g, chars);
  const body = g.subgraph();
  const iteration = body.fresh('iteration');
  const condIn = body.fresh('cond_in');
  const y = body.fresh('chars');
  const composed = body.fresh('composed');
  const first = firsts(body, composed);
  const next = compact(
    body,
    where(body, first, composed, y),
    not(body, shift(body, first, 1, body.bools([false]))),
  );
  const composedNext = composable(body, next);
  const more = any(body, firsts(body, composedNext));
  const graph = body.graph(
    'compose_adjacent',
    [
      valueInfo(iteration, INT64, []),
      valueInfo(condIn, BOOL, []),
      valueInfo(y, STRING),
      valueInfo(composed, STRING),
    ],
    [valueInfo(more, BOOL, []), valueInfo(next, STRING), valueInfo(composedNext, STRING)],
  );
  const [out] = g.nodeN('Loop', ['', any(g, firsts(g, composed0)), chars, composed0], 2, {
    body: { graph },
  });
  return out;
}

/**
 * NFC's composition past marks that stay (after `composeAdjacent`, whose rounds leave only these): at
 * iteration j every starter s looks at the element s + j of its group, a mark of class c; it composes
 * when the pair is in `table` and the last mark s kept has a class below c (else it is blocked), and
 * otherwise is kept. Runs (longest group − 1) times: none for text whose marks all composed.
 */
export function composeBlocked(
  g: GraphBuilder,
  chars: string,
  table: ReadonlyMap<string, string>,
  ranks: ReadonlyMap<string, number>,
): string {
  const rank = classRanks(g, chars, ranks);
  const starter = eq(g, rank, scalar(g, 0));
  const group = g.node('CumSum', [toInt(g, starter), scalar(g, 1)]);
  const offset = g.node('Sub', [positions(g, chars), lastIndexWhere(g, starter)]);
  const trips = g.node('ReduceMax', [offset], { keepdims: 0 });

  const b = g.subgraph();
  const iteration = b.fresh('iteration');
  const condIn = b.fresh('cond_in');
  const value = b.fresh('value');
  const lastKept = b.fresh('last_kept');
  const removed = b.fresh('removed');
  const j = b.node('Add', [iteration, scalar(b, 1)]);
  const jj = b.node('Unsqueeze', [j, b.int64s([0], [1])]);
  const zero = b.int64s([0], [1]);
  const pads = (k: string) => b.node('Concat', [zero, k, zero, b.node('Neg', [k])], { axis: 0 });
  const ahead = (x: string, fill: string) =>
    b.node('Pad', [x, pads(b.node('Neg', [jj])), fill], { mode: 'constant' });
  const candidate = b.node(
    'Concat',
    [
      b.node('Slice', [chars, jj, b.int64s([2 ** 62], [1]), b.int64s([1], [1])]),
      b.node('Expand', [b.strings(['']), b.node('Concat', [b.int64s([1], [1]), jj], { axis: 0 })]),
    ],
    { axis: 1 },
  );
  const candidateRank = ahead(rank, scalar(b, 0));
  const inGroup = and(
    b,
    starter,
    eq(b, ahead(group, scalar(b, -1)), group),
    b.node('Greater', [candidateRank, scalar(b, 0)]),
  );
  const allowed = and(b, inGroup, b.node('Less', [lastKept, candidateRank]));
  const composed = pairLookup(b, b.node('StringConcat', [value, candidate]), table);
  const ok = and(b, allowed, not(b, eq(b, composed, b.strings(['']))));
  const valueNext = where(b, ok, composed, value);
  const lastNext = where(b, and(b, inGroup, not(b, ok)), candidateRank, lastKept);
  const removedNext = b.node('Or', [
    removed,
    b.node('Pad', [ok, pads(jj), b.bools([false])], { mode: 'constant' }),
  ]);
  const condOut = b.node('Identity', [condIn]);
  const graph = b.graph(
    'compose_blocked',
    [
      valueInfo(iteration, INT64, []),
      valueInfo(condIn, BOOL, []),
      valueInfo(value, STRING),
      valueInfo(lastKept, INT64),
      valueInfo(removed, BOOL),
    ],
    [
      valueInfo(condOut, BOOL, []),
      valueInfo(valueNext, STRING),
      valueInfo(lastNext, INT64),
      valueInfo(removedNext, BOOL),
    ],
  );
  const none = g.node('Not', [eq(g, chars, chars)]);
  const [finalValue, , finalRemoved] = g.nodeN(
    'Loop',
    [trips, g.bools([true]), chars, g.node('Expand', [scalar(g, 0), g.node('Shape', [chars])]), none],
    3,
    { body: { graph } },
  );
  return compact(g, finalValue, not(g, finalRemoved));
}
