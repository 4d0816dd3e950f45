/**
 * The Kiln side of bench/onehot-lr/run.ts, in its own process: reads and validates the credit file as
 * `kiln train` does, draws the folds (stratified, the project's seed) and writes each row's validation
 * fold to the folds file for the peer, then times the 5-fold cross-validation `kiln train` runs
 * (src/training/cross-validate.ts: per fold the feature pipeline fitted on the training rows, the
 * model fitted, the validation rows transformed and scored) and the final fit on every row. Prints one
 * JSON line.
 *
 *   npm run build && npx tsx bench/onehot-lr/kiln-side.ts <folds.json>
 *
 * Kiln runs from the compiled modules in dist/ (typed here from src/), as `kiln train` does: this file
 * alone goes through tsx.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CATEGORICAL, NUMERIC } from './generate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = (module: string) => pathToFileURL(path.join(here, '..', '..', 'dist', module)).href;
const foldsFile = process.argv[2];
if (!foldsFile) throw new Error('usage: kiln-side.ts <folds.json>');

const { loadProject } = (await import(dist('config/load.js'))) as typeof import('../../src/config/load.js');
const { encodeLabels } = (await import(dist('data/labels.js'))) as typeof import('../../src/data/labels.js');
const { loadTable } = (await import(dist('data/load.js'))) as typeof import('../../src/data/load.js');
const { splitFromConfig } = (await import(dist('data/split.js'))) as typeof import('../../src/data/split.js');
const { getColumn } = (await import(dist('data/table.js'))) as typeof import('../../src/data/table.js');
const { fitPipeline } = (await import(
  dist('features/pipeline.js')
)) as typeof import('../../src/features/pipeline.js');
const { getModelFamily } = (await import(
  dist('models/registry.js')
)) as typeof import('../../src/models/registry.js');
const { getTask } = (await import(dist('tasks/index.js'))) as typeof import('../../src/tasks/index.js');
const { crossValidate, fitModel } = (await import(
  dist('training/cross-validate.js')
)) as typeof import('../../src/training/cross-validate.js');
const { searchCandidates } = (await import(
  dist('training/search.js')
)) as typeof import('../../src/training/search.js');
const { silentProgress } = (await import(
  dist('util/progress.js')
)) as typeof import('../../src/util/progress.js');

const { project, dir } = await loadProject(here);
const target = project.target.column;
const { table } = await loadTable(project.data, { baseDir: dir, requiredNonNull: [target] });
const { classes, codes: y } = encodeLabels(getColumn(table, target));
const { folds } = splitFromConfig(table, project.split, { seed: project.seed, target });
const fold = new Int32Array(table.nRows);
folds.forEach((f, k) => {
  for (const i of f.valid) fold[i] = k;
});
writeFileSync(
  foldsFile,
  JSON.stringify({ target, numeric: NUMERIC, categorical: CATEGORICAL, fold: Array.from(fold) }),
);

const family = getModelFamily(project.model.family);
const [candidate] = searchCandidates(
  { params: project.model.params, features: project.features },
  undefined,
  project.seed,
);
const input = {
  table,
  task: getTask('binary'),
  y,
  classes,
  exclude: [target],
  family,
  headline: 'roc_auc',
  positive: classes.indexOf(project.target.positive!),
  progress: silentProgress,
  warn: (message: string) => process.stderr.write(`${message}\n`),
};
const cvStarted = performance.now();
const { trials } = await crossValidate({ ...input, folds, candidates: [candidate], seed: project.seed });
const cvSeconds = (performance.now() - cvStarted) / 1000;
const fitStarted = performance.now();
const { X } = await fitPipeline(candidate.features, table, {
  exclude: input.exclude,
  allowMissing: false,
  consumer: `model family ${family.name}`,
});
const model = await fitModel(input, X, y, undefined, candidate, project.seed, { context: 'final fit' });
const fitSeconds = (performance.now() - fitStarted) / 1000;
const diagnostics = model.diagnostics();
process.stdout.write(
  `${JSON.stringify({
    cv_s: cvSeconds,
    final_fit_s: fitSeconds,
    fold_auc: trials[0].foldScores,
    roc_auc_mean: trials[0].mean,
    iterations: `final fit: ${diagnostics.iterations} (${diagnostics.solver})`,
  })}\n`,
);
