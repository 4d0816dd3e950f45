/**
 * Full-pipeline training on posos, Kiln vs scikit-learn (bench/peers/intent_train_sklearn.py), on the
 * same 5 stratified folds: for each fold, TF-IDF of words (1–2) and of characters inside words (2–5)
 * fitted on the fold's training questions, the validation questions transformed, a linear SVM fitted
 * (one-vs-rest, squared hinge, C from the example's config) and the validation intents predicted;
 * accuracy and macro-F1 per fold. Options of the TF-IDF steps and the SVM come from
 * examples/intent-posos/kiln.config.ts.
 *
 *   npx tsx bench/intent-train.ts                  # uncalibrated: LinearSVC vs linear_svm calibration 'none'
 *   npx tsx bench/intent-train.ts --calibrated     # CalibratedClassifierCV(LinearSVC, 'sigmoid', cv=3,
 *                                                  #   ensemble=False) vs linear_svm calibration 'sigmoid'
 *   npx tsx bench/intent-train.ts --C 1 --seed 0 --project examples/intent-posos --out <file.json>
 *
 * Kiln's side runs in a fresh Node process (this file with `--side kiln`): it loads the project, reads
 * and validates the data with Kiln's loader, splits it with Kiln's splitter (src/data/split.ts,
 * stratified, 5 folds, seed 0) and writes the folds (IDs in row order, fold, label) to a JSON file, then
 * runs the folds through the library: fitPipeline (src/features/pipeline.ts) on the training rows,
 * pipeline.transform on the validation rows, linearSvm.fit and predict. The scikit-learn side then
 * runs in a fresh Python process on that folds file. Timed on both sides, per fold: fitting the TF-IDF
 * steps and transforming both parts, fitting the SVM (with its inner calibration folds when calibrated),
 * predicting the validation rows. Not timed on either side: process start-up and imports, reading and
 * joining the CSV files (Kiln also validates and fingerprints them), computing the folds, and the metrics.
 *
 * Prints per side the total seconds for the 5 folds (and the TF-IDF / fit / predict parts), mean
 * accuracy, mean macro-F1 and vocabulary sizes, the ratio Kiln / scikit-learn (issue 5: at most 2×), and
 * how often the two sides predict the same intent. Writes bench/results/intent-train-<date>[-calibrated].json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadProject } from '../src/config/load.js';
import { encodeLabels } from '../src/data/labels.js';
import { loadTable } from '../src/data/load.js';
import { splitFromConfig } from '../src/data/split.js';
import { getColumn, takeRows } from '../src/data/table.js';
import { classificationMetrics } from '../src/evaluation/index.js';
import { checkFeatureSteps, fitPipeline } from '../src/features/pipeline.js';
import type { StepConfig } from '../src/features/steps/configs.js';
import { LINEAR_SVM, linearSvm, linearSvmParams } from '../src/models/linear-svm.js';
import { writeResults } from './serving/common.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(here, '..');
const python = '/usr/bin/python3';

const { values: flags } = parseArgs({
  options: {
    calibrated: { type: 'boolean', default: false },
    C: { type: 'string' },
    seed: { type: 'string', default: '0' },
    project: { type: 'string', default: path.join(repoDir, 'examples', 'intent-posos') },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
    // Internal: run one side in this (fresh) process.
    side: { type: 'string' },
    work: { type: 'string' },
  },
});

if (flags.help) {
  process.stdout.write(`${readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]}*/\n`);
  process.exit(0);
}

const seed = Number(flags.seed);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed needs a whole number, got "${flags.seed}"`);
const overrideC = flags.C === undefined ? undefined : Number(flags.C);
if (overrideC !== undefined && !(overrideC > 0))
  throw new Error(`--C needs a positive number, got "${flags.C}"`);

type TfidfStep = StepConfig<'tfidf'>;

/** What the Kiln side hands to the scikit-learn side: the data's files, the rows and their folds. */
interface FoldsFile {
  seed: number;
  folds: number;
  files: { questions: string; labels: string };
  columns: { id: string; text: string; target: string };
  classes: string[];
  /** Table row order: the ID of each row, its label code and its validation fold. */
  ids: number[];
  y: number[];
  fold: number[];
  /** The example's tfidf steps, defaults applied. */
  tfidf: TfidfStep[];
  C: number;
  calibrationFolds: number;
}

interface FoldResult {
  fold: number;
  trainRows: number;
  validRows: number;
  seconds: number;
  cpuSeconds: number;
  featuresSeconds: number;
  fitSeconds: number;
  predictSeconds: number;
  vocabulary: number[];
  nonzerosPerRow: number;
  accuracy: number;
  macroF1: number;
  /** Predicted label code of each validation row, in the fold's row order (ascending table row). */
  pred?: number[];
  diagnostics?: Record<string, unknown>;
  convergenceWarnings?: number;
}

interface SideResult {
  side: string;
  version?: string;
  folds: FoldResult[];
  loadSeconds?: number;
}

// ------------------------------------------------------------------------------------------ Kiln side

async function kilnSide(work: string, calibrated: boolean): Promise<void> {
  const loaded = await loadProject(flags.project!);
  const { project, dir } = loaded;
  if (project.model.family !== LINEAR_SVM)
    throw new Error(
      `${loaded.configFile}: model.family is ${project.model.family}, this bench needs linear_svm`,
    );
  const target = project.target.column;
  // Validated by each kind's schema, defaults applied (the peer reads them as they are).
  const textSteps = checkFeatureSteps(project.features).filter((s): s is TfidfStep => s.step === 'tfidf');
  if (textSteps.length !== project.features.length)
    throw new Error('this bench maps only tfidf feature steps to scikit-learn');
  const text = textSteps[0].column;

  // Not timed: reading, validating and joining the CSV files.
  const loadStarted = performance.now();
  const { table } = await loadTable(project.data, {
    baseDir: dir,
    requiredNonNull: [target],
    rejectsPath: path.join(work, 'rejects.csv'),
  });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const { classes, codes: y } = encodeLabels(getColumn(table, target));
  const split = { ...project.split, testFraction: 0 };
  const { folds } = splitFromConfig(table, split, { seed, target });
  const idColumn = project.data.id;
  if (!idColumn) throw new Error('the project needs data.id so the peer can find the rows');
  const ids = getColumn(table, idColumn).values as ArrayLike<number>;
  const foldOf = new Int32Array(table.nRows);
  folds.forEach((f, k) => {
    for (const i of f.valid) foldOf[i] = k;
  });
  const params = linearSvmParams.parse({
    ...project.model.params,
    ...(overrideC === undefined ? {} : { C: overrideC }),
    calibration: calibrated ? 'sigmoid' : 'none',
  });
  const spec: FoldsFile = {
    seed,
    folds: folds.length,
    files: {
      questions: path.resolve(dir, project.data.source.path),
      labels: path.resolve(dir, project.data.join[0]?.source.path ?? project.data.source.path),
    },
    columns: { id: idColumn, text, target },
    classes,
    ids: Array.from(ids),
    y: Array.from(y),
    fold: Array.from(foldOf),
    tfidf: textSteps,
    C: params.C,
    calibrationFolds: params.calibrationFolds,
  };
  writeFileSync(path.join(work, 'folds.json'), JSON.stringify(spec));
  log(
    `kiln: ${table.nRows} rows, ${classes.length} classes, ${folds.length} folds (seed ${seed}); read in ${loadSeconds.toFixed(2)} s (not timed)`,
  );

  const exclude = [target, idColumn];
  const k = classes.length;
  const results: FoldResult[] = [];
  for (const [f, fold] of folds.entries()) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const { pipeline, X: Xtrain } = await fitPipeline(project.features, takeRows(table, fold.train), {
      exclude,
    });
    const { X: Xvalid, rowErrors } = pipeline.transform(takeRows(table, fold.valid));
    const t1 = performance.now();
    const ytrain = Int32Array.from(fold.train, (i) => y[i]);
    const model = await linearSvm.fit(Xtrain, ytrain, {
      params,
      task: 'multiclass',
      classes,
      seed: project.seed + f,
      warn: (message) => log(`kiln fold ${f + 1}: ${message}`),
    });
    const t2 = performance.now();
    const proba = await model.predict(Xvalid);
    const pred = new Int32Array(fold.valid.length);
    for (let r = 0; r < pred.length; r++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (proba[r * k + c] > proba[r * k + best]) best = c;
      pred[r] = best;
    }
    const t3 = performance.now();
    const used = process.cpuUsage(cpu);
    if (rowErrors.size > 0)
      throw new Error(`fold ${f + 1}: ${rowErrors.size} validation rows not transformed`);
    const yvalid = Int32Array.from(fold.valid, (i) => y[i]);
    const metrics = classificationMetrics({ yTrue: yvalid, proba, classes, positive: undefined });
    const result: FoldResult = {
      fold: f,
      trainRows: fold.train.length,
      validRows: fold.valid.length,
      seconds: (t3 - t0) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
      featuresSeconds: (t1 - t0) / 1000,
      fitSeconds: (t2 - t1) / 1000,
      predictSeconds: (t3 - t2) / 1000,
      vocabulary: pipeline.sparseBlocks.map((b) => b.size),
      nonzerosPerRow: Xtrain.kind === 'csr' ? Xtrain.data.length / Xtrain.rows : Number.NaN,
      accuracy: metrics.accuracy,
      macroF1: metrics.f1_macro,
      pred: Array.from(pred),
      diagnostics: model.diagnostics(),
    };
    results.push(result);
    log(
      `kiln fold ${f + 1}: ${result.seconds.toFixed(2)} s (tfidf ${result.featuresSeconds.toFixed(2)}, fit ${result.fitSeconds.toFixed(2)}, predict ${result.predictSeconds.toFixed(3)})  accuracy ${result.accuracy.toFixed(4)}  macro-F1 ${result.macroF1.toFixed(4)}`,
    );
  }
  const side: SideResult = { side: 'kiln', version: process.version, folds: results, loadSeconds };
  writeFileSync(path.join(work, 'kiln.json'), JSON.stringify(side));
}

// ------------------------------------------------------------------------------------------ orchestrator

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function orchestrate(calibrated: boolean): void {
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const work = path.join(
    repoDir,
    'bench',
    'results',
    'intent-train',
    `${stamp}${calibrated ? '-calibrated' : ''}`,
  );
  mkdirSync(work, { recursive: true });
  const load = os.loadavg();
  const passOn = [
    ...(calibrated ? ['--calibrated'] : []),
    ...(flags.C === undefined ? [] : ['--C', flags.C]),
    '--seed',
    String(seed),
    '--project',
    path.resolve(flags.project!),
  ];

  log('== kiln (fresh Node process)');
  execFileSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--side', 'kiln', '--work', work, ...passOn],
    { cwd: repoDir, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const spec = JSON.parse(readFileSync(path.join(work, 'folds.json'), 'utf8')) as FoldsFile;
  const kiln = JSON.parse(readFileSync(path.join(work, 'kiln.json'), 'utf8')) as SideResult;

  log('== scikit-learn (fresh Python process)');
  execFileSync(
    python,
    [
      path.join(here, 'peers', 'intent_train_sklearn.py'),
      path.join(work, 'folds.json'),
      path.join(work, 'sklearn.json'),
      ...(calibrated ? ['--calibrated'] : []),
    ],
    { cwd: repoDir, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const sklearn = JSON.parse(readFileSync(path.join(work, 'sklearn.json'), 'utf8')) as SideResult;

  const sum = (r: SideResult, key: keyof FoldResult) => r.folds.reduce((a, f) => a + (f[key] as number), 0);
  const mean = (r: SideResult, key: keyof FoldResult) => sum(r, key) / r.folds.length;
  const vocab = (r: SideResult) =>
    r.folds[0].vocabulary.map((_, b) =>
      Math.round(r.folds.reduce((a, f) => a + f.vocabulary[b], 0) / r.folds.length),
    );
  // Agreement: both sides list predictions per fold in ascending table row order.
  let same = 0;
  let total = 0;
  kiln.folds.forEach((f, k) => {
    const other = sklearn.folds[k].pred!;
    f.pred!.forEach((p, r) => {
      same += p === other[r] ? 1 : 0;
      total++;
    });
  });
  const ratio = sum(kiln, 'seconds') / sum(sklearn, 'seconds');
  const cpuRatio = sum(kiln, 'cpuSeconds') / sum(sklearn, 'cpuSeconds');
  const variant = calibrated
    ? `sigmoid-calibrated (${spec.calibrationFolds} inner folds, then a refit on all training rows)`
    : 'uncalibrated';
  const rows = [
    { name: `scikit-learn ${sklearn.version}`, r: sklearn },
    { name: `kiln (node ${kiln.version})`, r: kiln },
  ];
  const lines = [
    `posos: ${spec.ids.length} questions, ${spec.classes.length} intents, ${spec.folds} stratified folds (Kiln's splitter, seed ${spec.seed}); ` +
      `TF-IDF ${spec.tfidf.map((s) => `${s.analyzer} ${s.ngramRange.join('-')}`).join(' + ')} (sublinear tf) fitted per fold; ` +
      `linear SVM C=${spec.C}, ${variant}`,
    `timed: TF-IDF fit + transforms, SVM fit, predict; not timed: start-up, CSV reading, folds, metrics. ${os.cpus().length} cores, load average ${load[0].toFixed(2)} at start`,
    '',
    `${'side'.padEnd(24)}${'total s'.padStart(9)}${'tfidf s'.padStart(9)}${'fit s'.padStart(9)}${'predict s'.padStart(11)}${'cpu s'.padStart(9)}${'accuracy'.padStart(10)}${'macro-F1'.padStart(10)}  vocabulary (words + chars)`,
    ...rows.map(
      ({ name, r }) =>
        `${name.padEnd(24)}${sum(r, 'seconds').toFixed(2).padStart(9)}${sum(r, 'featuresSeconds').toFixed(2).padStart(9)}` +
        `${sum(r, 'fitSeconds').toFixed(2).padStart(9)}${sum(r, 'predictSeconds').toFixed(3).padStart(11)}` +
        `${sum(r, 'cpuSeconds').toFixed(2).padStart(9)}${mean(r, 'accuracy').toFixed(4).padStart(10)}` +
        `${mean(r, 'macroF1').toFixed(4).padStart(10)}  ${vocab(r)
          .map((v) => v.toLocaleString('en-US'))
          .join(' + ')}`,
    ),
    '',
    `kiln / scikit-learn: ${ratio.toFixed(2)}x total (tfidf ${(sum(kiln, 'featuresSeconds') / sum(sklearn, 'featuresSeconds')).toFixed(2)}x, fit ${(sum(kiln, 'fitSeconds') / sum(sklearn, 'fitSeconds')).toFixed(2)}x)  ` +
      `issue 5 (at most 2x): ${ratio <= 2 ? 'pass' : 'FAIL'}`,
    `kiln / scikit-learn in CPU seconds: ${cpuRatio.toFixed(2)}x (less sensitive to other work on a shared machine than wall time)`,
    `same predicted intent on ${((100 * same) / total).toFixed(1)} % of the ${total} validation rows`,
  ];
  console.log(lines.join('\n'));

  const strip = (r: SideResult) => ({ ...r, folds: r.folds.map(({ pred: _, ...f }) => f) });
  const out = writeResults(
    { script: 'bench/intent-train.ts', stem: `intent-train${calibrated ? '-calibrated' : ''}` },
    started,
    flags.out,
    {
      loadAverageAtStart: load,
      timed: 'per fold: TF-IDF fit on the training rows + transform of both parts, SVM fit, predict',
      notTimed:
        'process start-up and imports, CSV reading/joining (and Kiln validation), fold computation, metrics',
      setup: {
        seed: spec.seed,
        folds: spec.folds,
        C: spec.C,
        calibrated,
        calibrationFolds: spec.calibrationFolds,
        tfidf: spec.tfidf,
      },
      ratio,
      cpuRatio,
      passed: ratio <= 2,
      agreement: same / total,
      summary: lines,
      kiln: strip(kiln),
      sklearn: strip(sklearn),
      work,
    },
  );
  log(`wrote ${path.relative(repoDir, out)} (folds and raw results in ${path.relative(repoDir, work)})`);
}

if (flags.side === 'kiln') await kilnSide(flags.work!, flags.calibrated!);
else if (flags.side !== undefined) throw new Error(`--side: unknown ${flags.side}`);
else orchestrate(flags.calibrated!);
