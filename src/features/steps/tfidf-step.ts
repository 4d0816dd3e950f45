import { z } from 'zod';
import { OnnxExportError } from '../../onnx/errors.js';
import { tfidfToOnnx } from '../text/onnx.js';
import { fitTfidf, loadTfidf } from '../text/tfidf.js';
import { builtinStepConfigSchema } from './configs.js';
import { assertNotExcluded, type BuiltinStepKind, parseState } from './step.js';
import { fittedTfidf, type TfidfStepState, textValues, tfidfFeatureNames } from './tfidf.js';

/**
 * TF-IDF of one text column, as scikit-learn's TfidfVectorizer: sparse features named
 * `${name}:${term}`, appended by the pipeline after the table's feature columns. Several tfidf steps may
 * read the same column (word and char_wb n-grams, each with its own name). A missing text is an empty
 * document: an all-zero row.
 */
export const tfidfStep: BuiltinStepKind<'tfidf', TfidfStepState> = {
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
  exportOnnx(state, g, columns) {
    // The block's column j is the step's sparse feature j; the text column stays, as in `transform`.
    let block: string;
    try {
      block = tfidfToOnnx(g, state, columns.string(state.config.column));
    } catch (error) {
      if (error instanceof OnnxExportError) throw error;
      throw new OnnxExportError((error as Error).message, { cause: error });
    }
    columns.setBlock(tfidfFeatureNames(state), block);
  },
};
