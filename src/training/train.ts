import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LoadedProject } from '../config/load.js';
import type { GateResult, RunReport } from '../evaluation/index.js';
import { openProjectBackends, registerRun, shouldRegister } from '../registry/index.js';
import { artifactLocation, publishDirectory } from '../stores/artifacts/index.js';
import { startRunHeartbeat } from '../stores/metadata/heartbeat.js';
import type { ModelVersion, RunRecord, RunUpdate } from '../stores/metadata/index.js';
import { heartbeatSeconds } from '../stores/metadata/liveness.js';
import { type Progress, silentProgress } from '../util/progress.js';
import { codeVersion, dependencyVersions } from '../util/provenance.js';
import { checkProject } from './check.js';
import { pickValues } from './rows.js';
import { type RunContext, runStage } from './stage.js';
import { crossValidateStage } from './stages/cross-validate.js';
import { evaluate } from './stages/evaluate.js';
import { fit } from './stages/fit.js';
import { load } from './stages/load.js';
import { packageModel } from './stages/package.js';
import { search } from './stages/search.js';
import { split } from './stages/split.js';
import { validate } from './stages/validate.js';

export interface TrainOptions {
  progress?: Progress;
  /** Overrides the project's seed. */
  seed?: number;
  /** Evaluate only (cross-validation, report, run record); no final fit and no package. */
  evaluateOnly?: boolean;
  /** Use the base params only, skipping the configured search. */
  noSearch?: boolean;
  /** Stops the run at the next check; it is recorded as failed with the signal's reason. */
  signal?: AbortSignal;
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
 * One run of a project, as named stages: load → validate → split → search → cross_validate → fit →
 * evaluate → package, then publish (the run folder to the artifact store) and register (the package in
 * the model registry). Each stage's duration is recorded with the run. A failure marks the run failed
 * with its error; nothing is left half-written, and a run whose process dies shows as abandoned once
 * its heartbeat stops.
 */
export async function trainProject(loaded: LoadedProject, options: TrainOptions = {}): Promise<TrainResult> {
  const { project, dir } = loaded;
  const progress = options.progress ?? silentProgress;
  const seed = options.seed ?? project.seed;
  checkProject(loaded);
  // Read before the run exists: a bad setting must not leave a run that never beats.
  const intervalSeconds = heartbeatSeconds();
  const warnings: string[] = [];
  const backends = openProjectBackends(loaded, (message) => progress.warn(message));
  const { store } = backends;
  try {
    const run = await store.createRun({
      project: project.name,
      kind: options.evaluateOnly ? 'evaluate' : 'train',
      seed,
      config: project,
      codeVersion: codeVersion(dir),
      dependencies: dependencyVersions(),
    });
    const heartbeat = startRunHeartbeat(store, run.id, { intervalSeconds });
    const runDir = path.join(backends.localDir, 'runs', run.id);
    mkdirSync(runDir, { recursive: true });
    progress.info(`run ${run.id}`, { project: project.name, seed });
    const context: RunContext = {
      project,
      dir,
      run,
      runDir,
      seed,
      store,
      progress,
      warn: (message) => {
        warnings.push(message);
        progress.warn(message);
      },
      signal: options.signal,
      durations: {},
    };
    try {
      const data = await runStage(context, 'load', load, undefined);
      await store.updateRun(run.id, { data: data.fingerprints });
      const set = await runStage(context, 'validate', validate, data);
      const splits = await runStage(context, 'split', split, set);
      const searched = await runStage(context, 'search', search, {
        set,
        splits,
        noSearch: !!options.noSearch,
      });
      const cv = await runStage(context, 'cross_validate', crossValidateStage, { set, splits, searched });
      const fitted = options.evaluateOnly
        ? undefined
        : await runStage(context, 'fit', fit, { set, splits, cv });
      const evaluated = await runStage(context, 'evaluate', evaluate, { set, splits, searched, cv, fitted });
      const packageDir = fitted
        ? await runStage(context, 'package', packageModel, {
            set,
            cv,
            fitted,
            evaluated,
            data: data.fingerprints,
            devTargets: pickValues(set.y, splits.devRows),
          })
        : null;
      progress.stage('publish', { to: `${artifactLocation(backends.artifacts)}/runs/${run.id}` });
      await runStage(
        context,
        'publish',
        () => publishDirectory(backends.artifacts, runDir, `runs/${run.id}`),
        undefined,
      );
      const registered =
        packageDir && shouldRegister(project.registry.register, evaluated.passed)
          ? await runStage(
              context,
              'register',
              () => registerRun(backends.registry, project, packageDir, run.id, progress),
              undefined,
            )
          : null;
      const update: RunUpdate = {
        params: { ...cv.params, ...cv.featureSettings, threshold: cv.threshold },
        metrics: {
          headline: set.headline,
          cv: cv.cvMeans,
          cvStd: Object.fromEntries(Object.entries(cv.folds).map(([k, s]) => [k, s.std])),
          oof: cv.oofMetrics,
          intervals: cv.intervals,
          test: evaluated.testMetrics,
          gates: evaluated.gates,
          ...(cv.variability ? { repeats: cv.variability.overRepeats } : {}),
        },
        durations: context.durations,
        data: data.fingerprints,
        packageUri: registered
          ? registered.packageUri
          : packageDir
            ? `${artifactLocation(backends.artifacts)}/runs/${run.id}/package`
            : null,
        warnings,
        status: evaluated.passed ? 'succeeded' : 'gate_failed',
        finishedAt: new Date().toISOString(),
      };
      return {
        run: await store.updateRun(run.id, update),
        runDir,
        packageDir,
        reportPath: evaluated.reportPath,
        gates: evaluated.gates,
        passed: evaluated.passed,
        registered,
        summary: evaluated.summary,
        report: evaluated.report,
      };
    } catch (error) {
      await store.updateRun(run.id, {
        status: 'failed',
        error: (error as Error).message,
        warnings,
        durations: context.durations,
        finishedAt: new Date().toISOString(),
      });
      throw error;
    } finally {
      await heartbeat.stop();
    }
  } finally {
    await backends.close();
  }
}
