import type { CsrMatrix } from '../../data/matrix.js';
import { getColumn, isStringColumn, type Table } from '../../data/table.js';
import type { TfidfVectorizer } from '../text/tfidf.js';
import type { FittedStep, StepConfig, StepState } from './step.js';

/**
 * The fitted tfidf step and its state; the kind (fit, load, ONNX form) is in tfidf-step.ts, apart
 * because the ONNX form (text/onnx.ts) reads this module's state type.
 */
export interface TfidfStepState extends StepState {
  readonly config: StepConfig<'tfidf'>;
  /** Terms in column order. */
  readonly vocabulary: readonly string[];
  /** Smooth idf of each term, ln((1 + n) / (1 + df)) + 1 over the n training texts. */
  readonly idf: readonly number[];
}

/** Feature-name prefix: the configured name, else `${column}_words` or `${column}_chars`. */
export function tfidfName(config: StepConfig<'tfidf'>): string {
  return config.name ?? `${config.column}_${config.analyzer === 'word' ? 'words' : 'chars'}`;
}

/** The step's sparse feature names, `${name}:${term}` in vocabulary order. */
export function tfidfFeatureNames(state: TfidfStepState): string[] {
  const name = tfidfName(state.config);
  return state.vocabulary.map((term) => `${name}:${term}`);
}

export function fittedTfidf(
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
      featureNames: tfidfFeatureNames(state),
      transform(table) {
        const texts = textValues(table, column);
        const X = fitted?.texts === texts ? fitted.X : vectorizer.transform(texts);
        fitted = undefined;
        return X;
      },
    },
  };
}

export function textValues(table: Table, name: string): readonly (string | null)[] {
  const column = getColumn(table, name);
  if (!isStringColumn(column))
    throw new Error(`column "${name}" is ${column.type}: tfidf needs a text, string or category column`);
  return column.values;
}
