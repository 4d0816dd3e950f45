import { z } from 'zod';
import type { CsrMatrix } from '../../data/matrix.js';
import { getColumn, isStringColumn, type Table } from '../../data/table.js';
import { fitTfidf, loadTfidf, type TfidfVectorizer } from '../text/tfidf.js';
import { builtinStepConfigSchema } from './configs.js';
import {
  assertNotExcluded,
  type BuiltinStepKind,
  type FittedStep,
  parseState,
  type StepConfig,
  type StepState,
} from './step.js';

export interface TfidfStepState extends StepState {
  readonly config: StepConfig<'tfidf'>;
  /** Terms in column order. */
  readonly vocabulary: readonly string[];
  /** Smooth idf of each term, ln((1 + n) / (1 + df)) + 1 over the n training texts. */
  readonly idf: readonly number[];
}

/**
 * TF-IDF of one text column, as scikit-learn's TfidfVectorizer: sparse features named
 * `${name}:${term}`, appended by the pipeline after the table's feature columns. Several tfidf steps may
 * read the same column (word and char_wb n-grams, each with its own name). A missing text is an empty
 * document: an all-zero row.
 */
export const tfidfStep: BuiltinStepKind<'tfidf'> = {
  name: 'tfidf',
  description: 'TF-IDF of a text column (scikit-learn TfidfVectorizer), as sparse features',
  takes: ['text', 'string', 'category'],
  gives: 'sparse',
  config: builtinStepConfigSchema('tfidf'),
  fit(table, config, context) {
    assertNotExcluded(config.column, context);
    const texts = textValues(table, config.column);
    const { vectorizer, X } = fitTfidf(texts, config);
    return fittedTfidf({ config, ...vectorizer.state() }, vectorizer, { texts, X });
  },
  load(raw) {
    const state = parseState('tfidf', { vocabulary: z.array(z.string()), idf: z.array(z.number()) }, raw);
    return fittedTfidf(state, loadTfidf(state.config, state));
  },
};

/** Feature-name prefix: the configured name, else `${column}_words` or `${column}_chars`. */
function tfidfName(config: StepConfig<'tfidf'>): string {
  return config.name ?? `${config.column}_${config.analyzer === 'word' ? 'words' : 'chars'}`;
}

function fittedTfidf(
  state: TfidfStepState,
  vectorizer: TfidfVectorizer,
  training?: { texts: readonly (string | null)[]; X: CsrMatrix },
): FittedStep<TfidfStepState> {
  const { column } = state.config;
  const name = tfidfName(state.config);
  // The pipeline asks for the training rows' matrix right after fit: hand over the one fit built
  // (once, so the fitted pipeline does not keep it alive).
  let fitted = training;
  return {
    state,
    reads: [column],
    writes: [],
    transform: (table) => table,
    sparse: {
      name,
      featureNames: state.vocabulary.map((term) => `${name}:${term}`),
      transform(table) {
        const texts = textValues(table, column);
        const X = fitted?.texts === texts ? fitted.X : vectorizer.transform(texts);
        fitted = undefined;
        return X;
      },
    },
  };
}

function textValues(table: Table, name: string): readonly (string | null)[] {
  const column = getColumn(table, name);
  if (!isStringColumn(column))
    throw new Error(`column "${name}" is ${column.type}: tfidf needs a text, string or category column`);
  return column.values;
}
