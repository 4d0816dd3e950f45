import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedProject } from '../config/load.js';
import type { Project } from '../config/schema.js';
import { loadTable } from '../data/load.js';
import { holdoutSplit, splitFromConfig, splitOptions } from '../data/split.js';
import { getColumn, type Table, takeRows } from '../data/table.js';
import {
  allGatesPassed,
  type BootstrapInterval,
  bootstrapMetric,
  classificationMetrics,
  evaluateGates,
  type GateResult,
  metricValues,
  type RunReport,
  renderHtmlReport,
  renderTerminalSummary,
  reportCurves,
  selectThreshold,
  type Variability,
} from '../evaluation/index.js';
import { fitPipeline } from '../features/pipeline.js';
import { getModelFamily } from '../models/registry.js';
import '../models/index.js';
import { exportPipelineToOnnx, OnnxExportError, type OnnxExportSource } from '../packaging/onnx.js';
import { writePackage } from '../packaging/write.js';
import { defaultActor, openProjectBackends, type Registry } from '../registry/index.js';
import { artifactLocation, publishDirectory } from '../stores/artifacts/index.js';
import type { MetadataStore, ModelVersion, RunRecord } from '../stores/metadata/index.js';
import { type Progress, silentProgress } from '../util/progress.js';
import { codeVersion, dependencyVersions } from '../util/provenance.js';
import { checkProject } from './check.js';
import { crossValidate, type TrialResult } from './cross-validate.js';
import { encodeLabels } from './labels.js';
import { dataFingerprint, projectManifest } from './manifest.js';
import { searchCandidates } from './search.js';
import { foldMetrics, repeatedCrossValidation, summarise } from './variability.js';

export interface TrainOptions {
  progress?: Progress;
  /** Overrides the project's seed. */
  seed?: number;
  /** Evaluate only (cross-validation, report, run record); no final fit and no package. */
  evaluateOnly?: boolean;
  /** Use the base params only, skipping the configured search. */
  noSearch?: boolean;
}

export interface TrainResult {
  run: RunRecord;
  runDir: string;
  packageDir: string | null;
  reportPath: string;
  gates: GateResult[];
  passed: boolean;
  /** The registry version this run's package became (none when gated out, evaluate-only, or `register: never`). */
  registered?: ModelVersion | null;
  summary: string;
  report: RunReport;
}

/**
 * One run of a project: load and validate, split, cross-validate (with search), pick a threshold,
 * measure variability, fit the final model, write the package and the report, check the gates, and
 * record it all. A failure marks the run failed with its error; nothing is left half-written.
 */
export async function trainProject(loaded: LoadedProject, options: TrainOptions = {}): Promise<TrainResult> {
  const { project, dir } = loaded;
  const progress = options.progress ?? silentProgress;
  const seed = options.seed ?? project.seed;
  checkProject(loaded);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    progress.warn(message);
  };
  const backends = openProjectBackends(loaded, (message) => progress.warn(message));
  const { store } = backends;
  try {
    let run = await store.createRun({
      project: project.name,
      kind: options.evaluateOnly ? 'evaluate' : 'train',
      seed,
      config: project,
      codeVersion: codeVersion(dir),
      dependencies: dependencyVersions(),
    });
    const runDir = path.join(backends.localDir, 'runs', run.id);
    mkdirSync(runDir, { recursive: true });
    progress.info(`run ${run.id}`, { project: project.name, seed });
    try {
      const result = await execute(project, dir, run, runDir, seed, store, { ...options, progress }, warn);
      progress.stage('publish', { to: `${artifactLocation(backends.artifacts)}/runs/${run.id}` });
      await publishDirectory(backends.artifacts, runDir, `runs/${run.id}`);
      let registered: ModelVersion | null = null;
      if (result.packageDir && shouldRegister(project.registry.register, result.passed)) {
        registered = await registerRun(backends.registry, project, result.packageDir, run.id, progress);
      }
      run = await store.updateRun(run.id, {
        ...result.update,
        packageUri: registered
          ? registered.packageUri
          : result.packageDir
            ? `${artifactLocation(backends.artifacts)}/runs/${run.id}/package`
            : null,
        warnings,
        status: result.passed ? 'succeeded' : 'gate_failed',
        finishedAt: new Date().toISOString(),
      });
      return { ...result, run, runDir, registered };
    } catch (error) {
      await store.updateRun(run.id, {
        status: 'failed',
        error: (error as Error).message,
        warnings,
        finishedAt: new Date().toISOString(),
      });
      throw error;
    }
  } finally {
    await backends.close();
  }
}

function shouldRegister(policy: Project['registry']['register'], passed: boolean): boolean {
  return policy === 'always' || (policy === 'on_pass' && passed);
}

/** Registers the run's package and moves the project's alias (if any) to it. */
async function registerRun(
  registry: Registry,
  project: Project,
  packageDir: string,
  runId: string,
  progress: Progress,
): Promise<ModelVersion> {
  const name = project.registry.model ?? project.name;
  progress.stage('register', { model: name });
  const change = { actor: defaultActor(), reason: `trained by run ${runId}` };
  const { version, created } = await registry.register({ name, packageDir }, change);
  progress.info(
    created
      ? `registered ${name} version ${version.version}`
      : `${name} version ${version.version} already holds this exact package`,
    { package: version.packageUri },
  );
  const alias = project.registry.alias;
  if (alias && !version.aliases.includes(alias)) {
    await registry.moveAlias({ name, alias, version: version.version }, change);
    progress.info(`moved ${name}@${alias} to version ${version.version}`);
    return { ...version, aliases: [...version.aliases, alias] };
  }
  return version;
}

async function execute(
  project: Project,
  dir: string,
  run: RunRecord,
  runDir: string,
  seed: number,
  store: MetadataStore,
  options: TrainOptions & { progress: Progress },
  warn: (message: string) => void,
) {
  const { progress } = options;
  const durations: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => T | Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      durations[name] = Math.round(performance.now() - started) / 1000;
    }
  };

  progress.stage('load', { source: project.data.source.path });
  const { table, report: dataReport } = await timed('load', () =>
    loadTable(project.data, {
      baseDir: dir,
      requiredNonNull: [project.target.column],
      rejectsPath: path.join(runDir, 'rejects.csv'),
      onProgress: (rows) => progress.tick('rows', rows),
    }),
  );
  progress.info(
    `read ${dataReport.rowsRead} rows: ${dataReport.rowsAccepted} accepted, ${dataReport.rowsRejected} rejected`,
    dataReport.rejectsPath ? { rejects: dataReport.rejectsPath } : undefined,
  );
  const data = [
    dataFingerprint('train', dataReport),
    ...dataReport.joined.map((file) => ({
      role: 'train (joined)',
      path: file.path,
      sha256: file.fingerprint.sha256,
      bytes: file.fingerprint.sizeBytes,
      rowsRead: file.rowsRead,
      rowsAccepted: file.rowsRead,
      rowsRejected: 0,
    })),
  ];
  const testFile = project.data.test
    ? await timed('load', () =>
        loadTable(
          { ...project.data, source: project.data.test! },
          {
            baseDir: dir,
            requiredNonNull: [project.target.column],
            rejectsPath: path.join(runDir, 'test-rejects.csv'),
          },
        ),
      )
    : null;
  if (testFile) {
    progress.info(
      `read ${testFile.report.rowsRead} test rows: ${testFile.report.rowsAccepted} accepted, ${testFile.report.rowsRejected} rejected`,
    );
    data.push(dataFingerprint('test', testFile.report));
  }
  await store.updateRun(run.id, { data });

  const { classes, codes: y } = encodeLabels(getColumn(table, project.target.column));
  if (classes.length < 2)
    throw new Error(
      `target "${project.target.column}" has a single class (${classes[0]}) in the accepted rows`,
    );
  const positiveName = classes.length === 2 ? (project.target.positive ?? classes[1]) : undefined;
  const positive = positiveName === undefined ? undefined : classes.indexOf(positiveName);
  if (positive === -1)
    throw new Error(
      `target.positive "${positiveName}" is not a class of "${project.target.column}" (classes: ${classes.join(', ')})`,
    );

  const { holdout, folds } = splitFromConfig(table, project.split, { seed, target: project.target.column });
  const devRows = holdout?.train ?? Int32Array.from({ length: table.nRows }, (_, i) => i);
  const test = holdout
    ? { table: takeRows(table, holdout.test), y: pick(y, holdout.test), name: 'held-out test set' }
    : testFile
      ? {
          table: testFile.table,
          y: testLabels(testFile.table, project.target.column, classes, testFile.report.path),
          name: `test file ${testFile.report.path}`,
        }
      : null;
  const dev = takeRows(table, devRows);
  const yDev = pick(y, devRows);

  const family = getModelFamily(project.model.family);
  const search = options.noSearch ? undefined : project.model.search;
  const candidates = searchCandidates(
    { params: project.model.params, features: project.features },
    search,
    seed,
  );
  const exclude = [project.target.column, project.data.id, project.split.column].filter((c): c is string =>
    Boolean(c),
  );
  const headline = project.evaluation.headline;
  const cvInput = { table, y, classes, exclude, family, headline, positive, progress, warn };
  const recordTrial = (t: TrialResult) =>
    store.recordTrial({
      runId: run.id,
      index: t.index,
      params: t.params,
      foldScores: t.foldScores,
      mean: t.mean,
      std: t.std,
      seconds: t.seconds,
    });
  const validation = search?.validation ?? 'cv';
  let trials: TrialResult[];
  let best: number;
  let chosenTrial: TrialResult;
  let searchScoredOn = `${folds.length}-fold cross-validation`;
  if (validation !== 'cv' && candidates.length > 1) {
    // Candidates compete on one fixed validation split; only the winner is cross-validated.
    const split = holdoutSplit(table, validation.fraction, {
      ...splitOptions(project.split, { seed, target: project.target.column }),
      rows: devRows,
    });
    searchScoredOn = `a fixed validation split (${split.test.length} of ${devRows.length} rows, seed ${seed})`;
    ({ trials, best } = await timed('search', () =>
      crossValidate({
        ...cvInput,
        folds: [{ train: split.train, valid: split.test }],
        candidates,
        seed,
        stage: 'search',
        onTrial: recordTrial,
        gates: project.gates,
      }),
    ));
    const evaluated = await timed('cross_validate', () =>
      crossValidate({ ...cvInput, folds, candidates: [candidates[best]], seed }),
    );
    chosenTrial = evaluated.trials[0];
  } else {
    ({ trials, best } = await timed('cross_validate', () =>
      crossValidate({ ...cvInput, folds, candidates, seed, onTrial: recordTrial, gates: project.gates }),
    ));
    chosenTrial = trials[best];
  }
  const chosen = candidates[best];
  const params = family.params.parse(chosen.params) as Record<string, unknown>;
  const featureSettings = Object.fromEntries(
    Object.entries(chosen.settings).filter(([key]) => key.startsWith('features.')),
  );

  // Evaluate the chosen candidate's out-of-fold predictions.
  progress.stage('evaluate');
  const scored = devRows.filter((i) => !Number.isNaN(chosenTrial.oof[i * classes.length]));
  const oof = {
    yTrue: pick(y, scored),
    proba: pickRows(chosenTrial.oof, scored, classes.length),
    classes,
    positive,
  };
  const threshold =
    positive === undefined ? undefined : selectThreshold(oof, project.evaluation.threshold).threshold;
  const pooled = classificationMetrics({ ...oof, threshold });
  const foldValues = foldMetrics(chosenTrial, folds, y, classes, positive, threshold);
  const foldSummaries = summarise(foldValues);
  const cvMeans = Object.fromEntries(Object.entries(foldSummaries).map(([name, s]) => [name, s.mean]));
  const intervals: Record<string, BootstrapInterval> = {};
  if (project.evaluation.bootstrap > 0) {
    intervals[headline] = await timed('bootstrap', () =>
      bootstrapMetric({ ...oof, threshold }, headline, { seed, replicates: project.evaluation.bootstrap }),
    );
  }

  let variability: Variability | undefined;
  if (project.evaluation.repeats > 1) {
    if (project.split.strategy === 'time' || !project.split.shuffle)
      warn(
        'evaluation.repeats: the folds do not change with the seed (time split or shuffle off); repeats vary only the model seed',
      );
    variability = await timed('repeats', () =>
      repeatedCrossValidation({
        cv: cvInput,
        split: project.split,
        target: project.target.column,
        rows: devRows,
        candidate: chosen,
        repeats: project.evaluation.repeats,
        seed,
        threshold,
        firstRepeat: foldValues,
      }),
    );
  }

  let packageDir: string | null = null;
  let testMetrics: Record<string, number> | undefined;
  if (!options.evaluateOnly) {
    progress.stage('final fit', { rows: dev.nRows, params: JSON.stringify(params) });
    const { pipeline, X } = await timed('final_fit', () => fitPipeline(chosen.features, dev, { exclude }));
    const model = await timed('final_fit', () =>
      family.fit(X, yDev, {
        params,
        classes,
        seed,
        warn: (m) => warn(`final fit: ${m}`),
      }),
    );
    if (test) {
      const { X: Xtest, rowErrors } = pipeline.transform(test.table);
      if (rowErrors.size)
        warn(`${rowErrors.size} test rows could not be transformed and are left out of the test metrics`);
      const keep = Int32Array.from({ length: test.table.nRows }, (_, i) => i).filter(
        (i) => !rowErrors.has(i),
      );
      testMetrics = metricValues(
        classificationMetrics({
          yTrue: pick(test.y, keep),
          proba: pickRows(model.predictProba(Xtest), keep, classes.length),
          classes,
          positive,
          threshold,
        }),
      );
    }
    packageDir = path.join(runDir, 'package');
    const saved = model.save();
    const onnxGraph = exportOnnx(
      {
        pipelineState: pipeline.state(),
        modelSaved: saved,
        classes,
        family: family.name,
        name: project.name,
      },
      progress,
    );
    writePackage(
      packageDir,
      projectManifest(project, pipeline, X, {
        family: family.name,
        classes,
        positive: positiveName,
        threshold,
        metrics: {
          headline,
          cv: foldSummaries,
          oof: metricValues(pooled),
          intervals,
          ...(testMetrics ? { test: testMetrics } : {}),
          diagnostics: model.diagnostics(),
        },
        reference: { classPrior: classPrior(yDev, classes.length) },
        lineage: {
          runId: run.id,
          project: project.name,
          data: [...data],
          codeVersion: run.codeVersion,
          seed,
          parent: null,
        },
      }),
      saved,
      onnxGraph,
    );
    progress.info(`package written to ${packageDir}`);
  }

  const gateMetrics = testMetrics ?? cvMeans;
  const gates = evaluateGates(project.gates, gateMetrics);
  const passed = allGatesPassed(gates);
  const report: RunReport = {
    title: `${options.evaluateOnly ? 'Evaluation' : 'Training'} report: ${project.name}`,
    project: project.name,
    runId: run.id,
    createdAt: new Date().toISOString(),
    model: { family: family.name, params: { ...params, ...featureSettings } },
    data: [dataReport, ...(testFile ? [testFile.report] : [])].map((r) => ({
      name: r.path,
      rowsRead: r.rowsRead,
      rowsAccepted: r.rowsAccepted,
      rowsRejected: r.rowsRejected,
      rejectsPath: r.rejectsPath ?? undefined,
    })),
    evaluatedOn: testMetrics
      ? `${test!.name} (${test!.table.nRows} rows); folds: ${folds.length}-fold ${project.split.strategy} CV on the ${holdout ? 'rest' : 'training rows'}`
      : `${folds.length}-fold ${project.split.strategy} cross-validation, seed ${seed}: value = pooled out-of-fold predictions, folds = mean ± std over folds (gates use the fold means)`,
    classes,
    positive: positiveName,
    headline,
    metrics: testMetrics ?? metricValues(pooled),
    folds: foldSummaries,
    intervals,
    notes: pooled.notes,
    perClass: pooled.perClass,
    confusion: pooled.confusion,
    threshold:
      threshold === undefined
        ? undefined
        : { strategy: project.evaluation.threshold.strategy, value: threshold },
    curves: reportCurves({ ...oof, threshold }),
    gates,
    variability,
    search:
      trials.length > 1
        ? {
            metric: headline,
            scoredOn: searchScoredOn,
            trials: trials.map((t) => ({
              id: t.index + 1,
              params: t.params,
              score: t.mean,
              std: t.std,
              ...(project.gates.length ? { passesGates: t.passesGates } : {}),
            })),
            bestId: best + 1,
          }
        : undefined,
  };
  const reportPath = path.join(runDir, 'report.html');
  writeFileSync(reportPath, renderHtmlReport(report));
  writeFileSync(path.join(runDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return {
    packageDir,
    reportPath,
    gates,
    passed,
    report,
    summary: renderTerminalSummary(report),
    update: {
      params: { ...params, ...featureSettings, threshold },
      metrics: {
        headline,
        cv: cvMeans,
        cvStd: Object.fromEntries(Object.entries(foldSummaries).map(([k, s]) => [k, s.std])),
        oof: metricValues(pooled),
        intervals,
        test: testMetrics,
        gates,
        ...(variability ? { repeats: variability.overRepeats } : {}),
      },
      durations,
      data,
    },
  };
}

/** The package's ONNX graph, or none (with the reason) where the family or a step cannot be exported. */
function exportOnnx(source: OnnxExportSource, progress: Progress): Uint8Array | undefined {
  try {
    return exportPipelineToOnnx(source);
  } catch (error) {
    if (!(error instanceof OnnxExportError)) throw error;
    progress.info(`package has no ONNX graph: ${error.message}`);
    return undefined;
  }
}

/** The test file's labels as the training classes' codes; a class training never saw is an error. */
function testLabels(table: Table, target: string, classes: readonly string[], file: string): Int32Array {
  try {
    return encodeLabels(getColumn(table, target), classes).codes;
  } catch (error) {
    throw new Error(`test file ${file}: ${(error as Error).message}`);
  }
}

function pick(values: Int32Array, rows: ArrayLike<number>): Int32Array {
  return Int32Array.from(rows, (i) => values[i]);
}

function pickRows(matrix: Float64Array, rows: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(rows.length * k);
  for (let r = 0; r < rows.length; r++) out.set(matrix.subarray(rows[r] * k, (rows[r] + 1) * k), r * k);
  return out;
}

function classPrior(y: Int32Array, k: number): number[] {
  const counts = new Array(k).fill(0);
  for (const c of y) counts[c]++;
  return counts.map((c) => c / y.length);
}
