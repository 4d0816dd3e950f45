import type { Project } from '../config/schema.js';
import type { MetadataStore, RunRecord } from '../stores/metadata/index.js';
import type { Progress } from '../util/progress.js';

/** The named stages of a training run, in order; `publish` and `register` are the registry's. */
export const STAGES = [
  'load',
  'validate',
  'split',
  'search',
  'cross_validate',
  'fit',
  'evaluate',
  'package',
  'publish',
  'register',
] as const;
export type StageName = (typeof STAGES)[number];

/** What every stage of one run sees: the project, where the run writes, and how it reports. */
export interface RunContext {
  readonly project: Project;
  /** The project folder relative paths resolve against. */
  readonly dir: string;
  readonly run: RunRecord;
  /** The local run folder: package/, report.html, rejects. */
  readonly runDir: string;
  readonly seed: number;
  readonly store: MetadataStore;
  readonly progress: Progress;
  /** Records a warning with the run and shows it. */
  readonly warn: (message: string) => void;
  /** Stops the run at the next check (SIGINT, a job cancelled). */
  readonly signal?: AbortSignal;
  /** Seconds per stage, as the run records them. */
  readonly durations: Partial<Record<StageName, number>>;
}

/**
 * Runs one stage: a function from a typed input to a typed output. Its wall time is recorded under its
 * name (a stage run twice adds up), and the run's abort signal is checked before it starts.
 */
export async function runStage<I, O>(
  context: RunContext,
  name: StageName,
  stage: (context: RunContext, input: I) => O | Promise<O>,
  input: I,
): Promise<O> {
  context.signal?.throwIfAborted();
  const started = performance.now();
  try {
    return await stage(context, input);
  } finally {
    const seconds = Math.round(performance.now() - started) / 1000;
    context.durations[name] = Math.round(((context.durations[name] ?? 0) + seconds) * 1000) / 1000;
  }
}
