import type { PackagedModel } from '../../packaging/load.js';
import { type Engine, refuseRows, type Transformed } from '../engine.js';

/** The package's own TypeScript path: frozen pipeline, then the model; refused rows are NaN. */
export function jsEngine(model: PackagedModel): Engine {
  const width = model.task.width(model.output);
  const { pipeline } = model;
  const finish = (scores: Float64Array, rows: number, { rowErrors, unseen }: Omit<Transformed, 'X'>) => {
    if (scores.length !== rows * width)
      throw new Error(`the model returned ${scores.length} scores for ${rows} rows x ${width}`);
    return { scores: refuseRows(scores, width, rowErrors), rowErrors, unseen };
  };
  return {
    name: 'js',
    width,
    stages: {
      transform: (table) => pipeline.transform(table),
      predict: (X) => model.model.predict(X),
    },
    score(table) {
      const { X, ...found } = pipeline.transform(table);
      const scores = model.model.predict(X);
      return scores instanceof Float64Array
        ? finish(scores, table.nRows, found)
        : scores.then((s) => finish(s, table.nRows, found));
    },
    release: async () => {},
  };
}
