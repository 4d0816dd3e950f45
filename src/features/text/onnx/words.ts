/**
 * `tokenize` as a graph, vectorised over positions (no per-character loop): the stream of normalised
 * code points → the stream of word tokens (ROW before each row's).
 *
 * tokenize.ts matches `W+('W+)*` (W a word character) and splits French elisions off the front of each
 * match. Per position p, with classes from a LabelEncoder (word characters as V8's `[\p{L}\p{N}\p{M}_]`):
 * - an apostrophe is inside a match when a word character is on both sides;
 * - it ends an elided head when the word characters right before it (counted from the last non-word
 *   one) spell an elided word: windows of 1..6 characters are joined (StringConcat), looked up at once
 *   (LabelEncoder), and each position picks the window as long as its head;
 * - the head is split off only while every earlier apostrophe of the match was such a split: the last
 *   "event" (match start, or an apostrophe that is not an elision) before p must be the match start;
 * - each position becomes a piece: its character inside a token, "'" inside a token, "' " (kept
 *   elision) or " " (dropped elision: its head's characters become ""), " " between tokens;
 * the pieces are joined (a Loop of log2 steps) and split on spaces (StringSplit); tokens shorter than
 * minTokenLength code points (the Tokenizer tells whether the m-th exists) are removed.
 */
import type { GraphBuilder } from '../../../onnx/graph.js';
import type { TokenizeOptions } from '../tokenize.js';
import { lookup } from './normalize.js';
import {
  and,
  compact,
  eq,
  joinRows,
  lastIndexWhere,
  not,
  or,
  positions,
  ROW,
  scalar,
  shift,
  shiftStrings,
  splitCodePoints,
  where,
} from './ops.js';
import { APOSTROPHE_CHARACTERS, elisionKeys, MAX_ELIDED_LENGTH, wordCharacters } from './tables.js';

const WORD = 1;
const APOSTROPHE = 2;

let classTable: Map<string, number> | undefined;
/** Word characters → 1, apostrophes → 2 (the rest: 0). */
function wordClasses(): ReadonlyMap<string, number> {
  if (!classTable) {
    classTable = new Map(wordCharacters().map((c) => [c, WORD]));
    for (const c of APOSTROPHE_CHARACTERS) classTable.set(c, APOSTROPHE);
  }
  return classTable;
}

export interface WordOptions extends Required<TokenizeOptions> {
  /** Whether the text was lower-cased (elided words are then matched in lower case only). */
  readonly lowercase: boolean;
}

/** Classes of a stream, once per stream and builder: the table has 150,000 characters. */
const classified = new WeakMap<GraphBuilder, Map<string, string>>();
function classes(g: GraphBuilder, chars: string): string {
  let map = classified.get(g);
  if (!map) {
    map = new Map();
    classified.set(g, map);
  }
  let cls = map.get(chars);
  if (cls === undefined) {
    cls = lookup(g, chars, wordClasses());
    map.set(chars, cls);
  }
  return cls;
}

/** Normalised code points (a stream) → the stream of word tokens, ROW before each row's. */
export function wordTokens(g: GraphBuilder, chars: string, options: WordOptions): string {
  const empty = g.strings(['']);
  const no = g.bools([false]);
  const K = MAX_ELIDED_LENGTH;
  const y = chars;
  const cls = classes(g, y);
  const w = eq(g, cls, g.int64s([WORD], []));
  const a = eq(g, cls, g.int64s([APOSTROPHE], []));
  const inside = and(g, a, shift(g, w, 1, no), shift(g, w, -1, no));
  const inMatch = or(g, w, inside);
  const matchStart = and(g, w, not(g, shift(g, inMatch, 1, no)));

  // The word characters right before each position (0..): an elided head is all of them.
  const headLength = g.node('Sub', [
    g.node('Sub', [positions(g, y), shift(g, lastIndexWhere(g, not(g, w)), 1, scalar(g, -1))]),
    scalar(g, 1),
  ]);
  // Windows of the k = 1..K characters before each position, stacked [K, S], looked up at once; each
  // position picks the window as long as its head.
  const elided = new Map(elisionKeys(options.lowercase).map((key) => [key, 1]));
  const windows: string[] = [shiftStrings(g, y, 1, '')];
  for (let k = 2; k <= K; k++)
    windows.push(g.node('StringConcat', [shiftStrings(g, y, k, ''), windows[k - 2]]));
  const spelled = lookup(g, g.node('Concat', windows, { axis: 0 }), elided);
  const pick = g.node('Clip', [g.node('Sub', [headLength, scalar(g, 1)]), scalar(g, 0), scalar(g, K - 1)]);
  const chosen = g.node('GatherElements', [spelled, pick], { axis: 0 });
  let isElision = and(g, eq(g, chosen, scalar(g, 1)), g.node('LessOrEqual', [headLength, scalar(g, K)]));
  isElision = and(g, inside, isElision);
  const notElision = and(g, inside, not(g, isElision));
  const lastEvent = lastIndexWhere(g, or(g, matchStart, notElision));
  const fromStart = g.node('GatherElements', [matchStart, g.node('Max', [lastEvent, g.int64s([0], [])])], {
    axis: 1,
  });
  const split = and(g, isElision, fromStart);

  const space = g.strings([' ']);
  let piece = where(g, w, y, space);
  if (options.elisions === 'drop') {
    // Characters of a dropped head: within `headLength` before a split apostrophe.
    const length = where(g, split, headLength, g.int64s([0], []));
    const dropped = or(
      g,
      ...Array.from({ length: K }, (_, i) =>
        g.node('GreaterOrEqual', [shift(g, length, -(i + 1), g.int64s([0], [])), g.int64s([i + 1], [])]),
      ),
    );
    piece = where(g, dropped, empty, piece);
  }
  const elision = options.elisions === 'keep' ? g.strings(["' "]) : space;
  piece = where(g, inside, where(g, split, elision, g.strings(["'"])), piece);
  // A ROW stays a token of its own (it has no space).
  piece = where(g, eq(g, y, g.strings([ROW])), g.strings([` ${ROW} `]), piece);

  const [parts] = g.nodeN('StringSplit', [joinRows(g, piece)], 2, {});
  const tokens = g.node('Squeeze', [parts, g.int64s([1], [1])]);
  if (options.minTokenLength <= 1) return tokens;
  // A token is long enough when its (minTokenLength)-th code point exists.
  const m = options.minTokenLength;
  const points = splitCodePoints(g, tokens);
  const widened = g.node(
    'Concat',
    [
      points,
      g.node('Expand', [
        empty,
        g.node('Concat', [g.node('Shape', [points], { start: 0, end: 2 }), g.int64s([m], [1])], { axis: 0 }),
      ]),
    ],
    { axis: 2 },
  );
  const mth = g.node('Gather', [widened, g.int64s([m - 1], [])], { axis: 2 });
  const keep = or(g, not(g, eq(g, mth, empty)), eq(g, tokens, g.strings([ROW])));
  return compact(g, tokens, keep);
}
