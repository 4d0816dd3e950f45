import type { Project, TaskName } from '../../config/schema.js';
import { encodeLabels } from '../../data/labels.js';
import { type Column, getColumn, isNumericColumn, type Table } from '../../data/table.js';
import { findMetric, metricsFor } from '../../evaluation/index.js';
import { builtinStepSchema } from '../../features/steps/configs.js';
import type { ModelFamily } from '../../models/family.js';
import { getModelFamily } from '../../models/registry.js';
import { getTask, type Task } from '../../tasks/index.js';
import type { CrossValidationInput } from '../cross-validate.js';
import type { RunContext } from '../stage.js';
import type { LoadedData } from './load.js';

/** A learnable problem: the task, targets encoded, weights read, the family checked against both. */
export interface TrainingSet extends CrossValidationInput {
  data: LoadedData;
  /** Binary: the positive class's name. */
  positiveName?: string;
  /** The test file's targets, encoded as the training ones. */
  testTargets?: Int32Array | Float64Array;
}

/** Tasks a family and a project's `task` setting leave possible (several until the classes are counted). */
export function possibleTasks(project: Project, family: ModelFamily): TaskName[] {
  if (project.task) return [project.task];
  const classification = family.tasks.filter((t) => t === 'binary' || t === 'multiclass');
  if (classification.length > 0) return classification;
  return family.tasks.includes('regression') ? ['regression'] : [...family.tasks];
}

/**
 * Turns validated rows into a training set: resolves the task (the project's `task`, else
 * classification by the number of classes, else what the family solves), encodes the targets, reads
 * the sample weights, and refuses what the family cannot take (the task, weights, missing values with
 * no impute step) with a message that says what to change.
 */
export function validate(context: RunContext, data: LoadedData): TrainingSet {
  const { project } = context;
  context.progress.stage('validate');
  const family = getModelFamily(project.model.family);
  const target = getColumn(data.table, project.target.column);
  const possible = possibleTasks(project, family);
  let task: Task;
  let classes: string[] = [];
  let y: Int32Array | Float64Array;
  if (possible.includes('regression') && possible.length === 1) {
    task = getTask('regression');
    y = numericTarget(target, project.target.column);
  } else if (possible.includes('embedding') && possible.length === 1) {
    throw new Error(
      `task embedding: model family ${family.name} learns embeddings without a target; training such families from a table is not supported yet`,
    );
  } else {
    const encoded = encodeLabels(target);
    classes = encoded.classes;
    y = encoded.codes;
    if (classes.length < 2)
      throw new Error(
        `target "${project.target.column}" has a single class (${classes[0]}) in the accepted rows`,
      );
    const name: TaskName = possible.includes('sequence_labelling')
      ? 'sequence_labelling'
      : classes.length === 2
        ? 'binary'
        : 'multiclass';
    if (!possible.includes(name))
      throw new Error(
        project.task
          ? `task ${project.task}: the target "${project.target.column}" has ${classes.length} classes, a ${name} problem`
          : `model family ${family.name} solves ${family.tasks.join(', ')}; the target "${project.target.column}" has ${classes.length} classes, a ${name} problem`,
      );
    task = getTask(name);
  }
  if (!family.tasks.includes(task.name))
    throw new Error(`model family ${family.name} solves ${family.tasks.join(', ')}, not ${task.name}`);

  const positiveName = task.name === 'binary' ? (project.target.positive ?? classes[1]) : undefined;
  const positive = positiveName === undefined ? undefined : classes.indexOf(positiveName);
  if (positive === -1)
    throw new Error(
      `target.positive "${positiveName}" is not a class of "${project.target.column}" (classes: ${classes.join(', ')})`,
    );
  const headline = project.evaluation.headline ?? task.defaultHeadline;
  if (headline === undefined || !metricsFor(task.name).some((m) => m.name === headline))
    throw new Error(
      `evaluation.headline "${headline}" is not a metric of ${task.name} models; available: ${metricsFor(
        task.name,
      )
        .map((m) => m.name)
        .join(', ')}`,
    );
  const weights = project.data.weight ? sampleWeights(data.table, project.data.weight, family) : undefined;
  if (!family.capabilities.missingValues) checkMissingCovered(project, data, family);

  const exclude = [project.target.column, project.data.id, project.split.column, project.data.weight].filter(
    (c): c is string => Boolean(c),
  );
  let testTargets: Int32Array | Float64Array | undefined;
  if (data.test) {
    const column = getColumn(data.test.table, project.target.column);
    try {
      testTargets =
        task.target === 'numbers'
          ? numericTarget(column, project.target.column)
          : encodeLabels(column, classes).codes;
    } catch (error) {
      throw new Error(`test file ${data.test.report.path}: ${(error as Error).message}`);
    }
  }
  return {
    data,
    table: data.table,
    task,
    y,
    classes,
    ...(weights ? { weights } : {}),
    exclude,
    family,
    headline,
    positive,
    positiveName,
    ...(testTargets ? { testTargets } : {}),
    ...(project.model.threads !== undefined ? { threads: project.model.threads } : {}),
    signal: context.signal,
    progress: context.progress,
    warn: context.warn,
  };
}

function numericTarget(column: Column, name: string): Float64Array {
  if (!isNumericColumn(column) || column.type === 'boolean' || column.type === 'datetime')
    throw new Error(`a regression target must be a number or integer column; "${name}" is ${column.type}`);
  return Float64Array.from(column.values);
}

function sampleWeights(table: Table, name: string, family: ModelFamily): Float64Array {
  if (!family.capabilities.sampleWeights)
    throw new Error(`data.weight: model family ${family.name} does not take sample weights`);
  const column = getColumn(table, name);
  if (!isNumericColumn(column) || column.type === 'datetime')
    throw new Error(`data.weight: column "${name}" is ${column.type}, not a number`);
  const values = Float64Array.from(column.values);
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] >= 0 && Number.isFinite(values[i])))
      throw new Error(
        `data.weight: column "${name}" is ${values[i]} at row ${i}; weights are finite and >= 0`,
      );
  }
  return values;
}

/**
 * A family that does not handle missing values needs an impute step for every numeric column with
 * missing values: all such columns are named at once, before any fit. Skipped when the pipeline has a
 * step registered through the SDK (its reads are known only once fitted; the pipeline checks then).
 */
function checkMissingCovered(project: Project, data: LoadedData, family: ModelFamily): void {
  const builtin = new Set<string>(builtinStepSchema.options.map((option) => option.shape.step.value));
  if (project.features.some((step) => !builtin.has(step.step))) return;
  const excluded = new Set([
    project.target.column,
    project.data.id,
    project.split.column,
    project.data.weight,
  ]);
  const covered = new Set<string>();
  for (const raw of project.features) {
    const parsed = builtinStepSchema.safeParse(raw);
    if (!parsed.success) continue;
    const step = parsed.data;
    if (step.step === 'impute' || step.step === 'drop') {
      const columns = step.columns;
      if (Array.isArray(columns)) for (const c of columns) covered.add(c);
      else for (const [name, column] of data.table.columns) if (selects(columns, column)) covered.add(name);
    }
  }
  const uncovered = Object.entries(data.report.missing).filter(([name, count]) => {
    const column = data.table.columns.get(name);
    return count > 0 && column && isNumericColumn(column) && !excluded.has(name) && !covered.has(name);
  });
  if (uncovered.length === 0) return;
  const names = uncovered.map(([name]) => name);
  throw new Error(
    `model family ${family.name} does not handle missing values, and ${uncovered
      .map(([name, count]) => `"${name}" (${count} missing)`)
      .join(
        ', ',
      )} ${uncovered.length === 1 ? 'has' : 'have'} some with no impute step: add { step: 'impute', columns: ${JSON.stringify(names)}, strategy: 'median' } (or drop ${uncovered.length === 1 ? 'it' : 'them'}), or choose a family that handles missing values`,
  );
}

function selects(selector: 'numeric' | 'boolean' | 'category', column: Column): boolean {
  if (selector === 'numeric') return column.type === 'number' || column.type === 'integer';
  if (selector === 'boolean') return column.type === 'boolean';
  return column.type === 'category' || column.type === 'string';
}

/** A gate or headline names a metric some possible task has. */
export function isMetricOf(name: string, tasks: readonly TaskName[]): boolean {
  const metric = findMetric(name);
  return metric?.tasks.some((t) => tasks.includes(t)) ?? false;
}
