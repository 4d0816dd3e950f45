/**
 * The ONNX form of the tfidf step: from the raw text column [N, 1] (tensor(string), "" for a missing
 * text) to the step's block as a dense [N, F] tensor(double) equal to the JS step's CSR rows (the same
 * sums in the same order; the only differences are ulps of ln), for every option the step has. Standard
 * operators (opset 20: StringConcat, StringSplit) plus onnxruntime's com.microsoft Tokenizer and
 * ai.onnx.ml LabelEncoder; no regular expression, no Unicode-normalisation operator.
 *
 * The batch's text is one *stream* of elements (onnx/ops.ts): a ROW element before each row's, so the
 * work is the batch's total length, never N times its longest text.
 * 1. normalisation (onnx/normalize.ts, onnx/compose.ts): Tokenizer splits the texts into code points; a
 *    LabelEncoder maps each character through `normalizeText`'s per-character result (tables computed
 *    at export from this runtime's normalize/toLowerCase, onnx/tables.ts); capital sigma becomes ς where
 *    toLowerCase's Final_Sigma context says so; the mapped pieces are split again; canonical reordering
 *    of marks, then (accents kept) canonical composition — the per-character results of `normalizeText`
 *    are NFKD-stripped pieces whose concatenation is the whole-string result, or decomposed pieces whose
 *    NFC is, which the graph computes;
 * 2. word tokens (onnx/words.ts: tokenize.ts's matches, elisions, minTokenLength, vectorised over
 *    positions, then joined and split on spaces) or char_wb items (onnx/chars.ts: padded words, a
 *    break between words, UTF-16 units as JavaScript slices strings);
 * 3. counts (onnx/count.ts): each window of n items (n = the vocabulary's n-gram lengths) joined and
 *    looked up in a term → column LabelEncoder, counted per row by Unique over row·F + column;
 * 4. weights on the nonzero counts (sublinear 1 + ln tf, × idf, the l2 / l1 row norm summed in CSR order
 *    by ScatterElements), written into a zero [N, F] block by ScatterND.
 * Several tfidf steps on one column share 1 (same lowercase and stripAccents) and 2 (same analyzer and
 * token options) within one GraphBuilder.
 *
 * TfIdfVectorizer, the obvious counting operator, is not used: it takes [N, C] rows as wide as the
 * batch's longest one and counts into a float [N, F] before anything else, which cost more than the rest
 * of the graph for batches of mixed lengths; counting on the stream and weighting the nonzero entries
 * only leaves one dense write.
 *
 * Where the graph can still differ from the JS step (tested where the graph is at fault):
 * - accents stripped, a class-0 nonspacing mark (U+034F COMBINING GRAPHEME JOINER, ...) between two
 *   spacing marks of nonzero class (U+1D165 ...; musical symbols and a few Indic vowel signs): NFKD does
 *   not reorder across the joiner, which the graph has already dropped;
 * - the tables are this runtime's Unicode (`UNICODE_VERSION`): a server whose JavaScript has other
 *   Unicode data may classify characters assigned since otherwise;
 * - what onnxruntime-node cannot pass in: a text is cut at its first U+0000, and an unpaired surrogate
 *   arrives as U+FFFD (the JS step sees both as they are).
 */
import type { CsrMatrix } from '../../data/matrix.js';
import { DOUBLE, encodeString, type GraphBuilder } from '../../onnx/graph.js';
import type { TfidfStepState } from '../steps/tfidf.js';
import { CHAR_WB_BREAKERS, charWbItems, encodeCodeUnits, vocabularySurrogates } from './onnx/chars.js';
import { type Counts, countTerms } from './onnx/count.js';
import { normalizedCodePoints } from './onnx/normalize.js';
import { ROW } from './onnx/ops.js';
import { wordTokens } from './onnx/words.js';

export {
  combiningClassRanks,
  compositionPairs,
  elisionKeys,
  normalizationTable,
  sigmaContextTable,
  UNICODE_VERSION,
  whitespaceCharacters,
  wordCharacters,
} from './onnx/tables.js';

/** Tensors already built per GraphBuilder, keyed by what they depend on. */
const shared = new WeakMap<GraphBuilder, Map<string, string>>();
function once(g: GraphBuilder, key: string, make: () => string): string {
  let map = shared.get(g);
  if (!map) {
    map = new Map();
    shared.set(g, map);
  }
  let name = map.get(key);
  if (name === undefined) {
    name = make();
    map.set(key, name);
  }
  return name;
}

/**
 * Emits the tfidf step's nodes reading `text` ([N, 1] string) and returns the name of its [N, F]
 * double block (F = vocabulary size, columns in vocabulary order). Throws for a state it cannot
 * express, naming the option.
 */
export function tfidfToOnnx(g: GraphBuilder, state: TfidfStepState, text: string): string {
  const { config, vocabulary, idf } = state;
  if (vocabulary.length !== idf.length) {
    throw new Error(`vocabulary: ${vocabulary.length} terms but ${idf.length} idf values`);
  }
  if (vocabulary.length === 0) {
    // No column: [N, 0].
    const shape = g.node('Concat', [g.node('Shape', [text], { start: 0, end: 1 }), g.int64s([0], [1])], {
      axis: 0,
    });
    return g.node('ConstantOfShape', [shape], {
      value: { tensor: { dataType: DOUBLE, dims: [1], doubleData: [0] } },
    });
  }
  const normalize = { lowercase: config.lowercase, stripAccents: config.stripAccents };
  const normKey = `${text}|lower=${normalize.lowercase}|strip=${normalize.stripAccents}`;
  const chars = () => once(g, `chars:${normKey}`, () => normalizedCodePoints(g, text, normalize));

  let counts: Counts;
  if (config.analyzer === 'word') {
    const tokens = vocabulary.map((term) => term.split(' '));
    if (tokens.some((t) => t.some((token) => token === ''))) {
      throw new Error('vocabulary: a word n-gram has an empty token (analyzer word)');
    }
    const options = {
      lowercase: config.lowercase,
      minTokenLength: config.minTokenLength,
      elisions: config.elisions,
    };
    const stream = once(g, `words:${normKey}|min=${options.minTokenLength}|${options.elisions}`, () =>
      wordTokens(g, chars(), options),
    );
    const table = { keys: vocabulary.map(encodeString), lengths: tokens.map((t) => t.length) };
    counts = countTerms(g, stream, table, ' ', [ROW]);
  } else if (config.analyzer === 'char_wb') {
    const surrogates = vocabularySurrogates(vocabulary);
    const stream = once(g, `chars_wb:${normKey}|${surrogates.high}|${surrogates.low}`, () =>
      charWbItems(g, chars(), surrogates),
    );
    const table = { keys: vocabulary.map(encodeCodeUnits), lengths: vocabulary.map((term) => term.length) };
    counts = countTerms(g, stream, table, '', CHAR_WB_BREAKERS);
  } else {
    throw new Error(`analyzer "${(config as { analyzer: string }).analyzer}" has no ONNX form`);
  }
  return weigh(g, counts, text, idf, config);
}

/**
 * Counts → tf-idf, normalised, on the nonzero entries only, then written into a zero [N, F] block
 * (ScatterND). The entries come sorted by row then column, as the CSR rows hold them, so the row sums
 * (ScatterElements, reduction add, in that order) add the same numbers in the same order as the JS step.
 */
function weigh(
  g: GraphBuilder,
  { row, column, count }: Counts,
  text: string,
  idf: readonly number[],
  config: TfidfStepState['config'],
): string {
  // 1 + ln(tf); tf ≥ 1 here, and ln(1) = 0 gives 1 exactly, as the JS step's tf = 1.
  const tf = config.sublinearTf ? g.node('Add', [g.doubles([1]), g.node('Log', [count])]) : count;
  let values = g.node('Mul', [
    tf,
    g.node('Gather', [g.doubles([...idf], [idf.length]), column], { axis: 0 }),
  ]);
  const rows = g.node('Shape', [text], { start: 0, end: 1 });
  const zeros = (shape: string) =>
    g.node('ConstantOfShape', [shape], {
      value: { tensor: { dataType: DOUBLE, dims: [1], doubleData: [0] } },
    });
  if (config.norm !== 'none') {
    // Every value is > 0 (tf ≥ 1, idf ≥ 1): a row with any has a positive norm.
    const terms = config.norm === 'l2' ? g.node('Mul', [values, values]) : values;
    let norms = g.node('ScatterElements', [zeros(rows), row, terms], { axis: 0, reduction: 'add' });
    if (config.norm === 'l2') norms = g.node('Sqrt', [norms]);
    values = g.node('Div', [values, g.node('Gather', [norms, row], { axis: 0 })]);
  }
  const at = g.node(
    'Concat',
    [g.node('Unsqueeze', [row, g.int64s([1], [1])]), g.node('Unsqueeze', [column, g.int64s([1], [1])])],
    { axis: 1 },
  );
  const shape = g.node('Concat', [rows, g.int64s([idf.length], [1])], { axis: 0 });
  return g.node('ScatterND', [zeros(shape), at, values]);
}

/** The JS step's CSR block as dense row-major values (tests and benchmarks compare with the graph). */
export function denseRows(X: CsrMatrix): Float64Array {
  const out = new Float64Array(X.rows * X.cols);
  for (let r = 0; r < X.rows; r++) {
    for (let p = X.indptr[r]; p < X.indptr[r + 1]; p++) out[r * X.cols + X.indices[p]] = X.data[p];
  }
  return out;
}
