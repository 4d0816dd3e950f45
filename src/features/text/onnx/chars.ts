/**
 * The char_wb analyzer's items, vectorised over positions: the stream of normalised code points → the
 * stream of items, for each whitespace-separated word " ", its characters, " ", then a break item, so
 * that no n-gram crosses two words (forEachCharWbNgram's padded words; a padded word shorter than n
 * is a term of its own there, which plain counting finds too: such a term is only ever a whole word).
 *
 * Items are UTF-16 code units, as JavaScript slices strings: a character beyond U+FFFF is two items,
 * its high and its low surrogate (their keys written as WTF-8). Only surrogates that occur in the
 * vocabulary need telling apart; a LabelEncoder over the 1,024 characters sharing each such surrogate
 * gives it, and a character with neither surrogate in the vocabulary stays one item that matches nothing
 * (the n-grams around it match nothing either way).
 */
import type { GraphBuilder } from '../../../onnx/graph.js';
import { encodeString, ML_DOMAIN } from '../../../onnx/graph.js';
import { lookup } from './normalize.js';
import { and, compact, eq, not, ROW, shift, where } from './ops.js';
import { whitespaceCharacters } from './tables.js';

/** Between two words: two code points, while every vocabulary item is one UTF-16 unit. */
const BREAK = '\u0001\u0001';
/** A surrogate that no vocabulary n-gram contains. */
const OTHER_SURROGATE = '\u0001\u0003';

let spaceTable: Map<string, number> | undefined;
/** Whitespace (and "" past the end of a row) → 1. */
function spaces(): ReadonlyMap<string, number> {
  spaceTable ??= new Map([...whitespaceCharacters(), '', ROW].map((c) => [c, 1]));
  return spaceTable;
}

/** Items that end an n-gram: a window holding one counts nothing. */
export const CHAR_WB_BREAKERS: readonly string[] = [ROW, BREAK, OTHER_SURROGATE];

/**
 * A char_wb term's key as the graph joins its items: each UTF-16 unit on its own (a surrogate as three
 * WTF-8 bytes), as the items of a character beyond U+FFFF are its two surrogates.
 */
export function encodeCodeUnits(term: string): Uint8Array {
  if (!/[\ud800-\udfff]/.test(term)) return encodeString(term);
  const parts = Array.from({ length: term.length }, (_, i) => encodeString(term[i]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Surrogate halves used by the vocabulary, high and low. */
export function vocabularySurrogates(vocabulary: readonly string[]): { high: number[]; low: number[] } {
  const high = new Set<number>();
  const low = new Set<number>();
  for (const term of vocabulary) {
    for (let i = 0; i < term.length; i++) {
      const u = term.charCodeAt(i);
      if (u >= 0xd800 && u <= 0xdbff) high.add(u);
      else if (u >= 0xdc00 && u <= 0xdfff) low.add(u);
    }
  }
  return { high: [...high].sort((a, b) => a - b), low: [...low].sort((a, b) => a - b) };
}

/** Normalised code points (a stream) → the stream of char_wb items, ROW before each row's. */
export function charWbItems(
  g: GraphBuilder,
  chars: string,
  surrogates: { readonly high: readonly number[]; readonly low: readonly number[] },
): string {
  const empty = g.strings(['']);
  const y = chars;
  const isSpace = eq(g, lookup(g, y, spaces()), g.int64s([1], []));
  const inWord = not(g, isSpace);
  const yes = g.bools([true]);
  const starts = and(g, inWord, shift(g, isSpace, 1, yes));
  const ends = and(g, inWord, shift(g, isSpace, -1, yes));

  let first = y;
  let second = empty;
  if (surrogates.high.length + surrogates.low.length > 0) {
    const halves = (units: readonly number[], high: boolean) => {
      const keys: string[] = [];
      const values: string[] = [];
      for (const unit of units) {
        for (let other = 0; other < 1024; other++) {
          keys.push(
            high ? String.fromCharCode(unit, 0xdc00 + other) : String.fromCharCode(0xd800 + other, unit),
          );
          values.push(String.fromCharCode(unit));
        }
      }
      if (keys.length === 0) return empty;
      return g.op(ML_DOMAIN, 'LabelEncoder', [y], {
        keys_strings: keys,
        values_strings: values,
        default_string: '',
      });
    };
    const hi = halves(surrogates.high, true);
    const lo = halves(surrogates.low, false);
    const hasHi = not(g, eq(g, hi, empty));
    const hasLo = not(g, eq(g, lo, empty));
    const split = g.node('Or', [hasHi, hasLo]);
    const other = g.strings([OTHER_SURROGATE]);
    first = where(g, split, where(g, hasHi, hi, other), y);
    second = where(g, split, where(g, hasLo, lo, other), empty);
  }
  const slots = [
    where(g, starts, g.strings([' ']), empty),
    where(g, inWord, first, empty),
    ...(second === empty ? [] : [where(g, inWord, second, empty)]),
    where(g, ends, g.strings([' ']), empty),
    where(g, ends, g.strings([BREAK]), empty),
    where(g, eq(g, y, g.strings([ROW])), g.strings([ROW]), empty),
  ];
  const stacked = g.node(
    'Concat',
    slots.map((s) => g.node('Unsqueeze', [s, g.int64s([2], [1])])),
    { axis: 2 },
  );
  const items = g.node('Flatten', [stacked], { axis: 1 });
  return compact(g, items, not(g, eq(g, items, empty)));
}
