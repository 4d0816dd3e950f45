import { TASK_NAMES, type TaskName } from '../config/schema.js';
import { binaryTask, multiclassTask, sequenceLabellingTask } from './classification.js';
import { embeddingTask, regressionTask } from './regression.js';
import type { Task } from './task.js';

export { classificationRule } from './classification.js';
export { type DecisionRule, decide, decideAll, decisionRule } from './decide.js';
export {
  type JsonSchema,
  predictionCount,
  type Scores,
  scoreRow,
  type Task,
  type TaskName,
  type TaskOutput,
} from './task.js';

/** The built-in tasks by name (frozen: a task changes the wire format, so there is no plugin point). */
const TASKS: { readonly [K in TaskName]: Task } = Object.freeze({
  binary: binaryTask,
  multiclass: multiclassTask,
  regression: regressionTask,
  sequence_labelling: sequenceLabellingTask,
  embedding: embeddingTask,
});

/** Package format 1 named the classification tasks this way. */
const LEGACY_NAMES: Readonly<Record<string, TaskName>> = {
  binary_classification: 'binary',
  multiclass_classification: 'multiclass',
};

export function getTask(name: string): Task {
  const canonical = Object.hasOwn(TASKS, name)
    ? (name as TaskName)
    : Object.hasOwn(LEGACY_NAMES, name)
      ? LEGACY_NAMES[name]
      : undefined;
  if (canonical === undefined) throw new Error(`unknown task "${name}"; known: ${TASK_NAMES.join(', ')}`);
  return TASKS[canonical];
}

export function isTaskName(name: string): name is TaskName {
  return (TASK_NAMES as readonly string[]).includes(name);
}

/** The classification task for a number of classes. */
export function classificationTask(classes: number): Task {
  return classes === 2 ? binaryTask : multiclassTask;
}
