import { type DecisionRule, decide, decisionRule } from './decide.js';
import type { JsonSchema, Scores, Task, TaskOutput } from './task.js';

/** Binary models with a positive class use its index and the threshold; others argmax. */
export function classificationRule(output: TaskOutput): DecisionRule {
  const positive = output.positive === undefined ? -1 : output.classes.indexOf(output.positive);
  if (output.positive !== undefined && positive < 0)
    throw new Error(`positive class "${output.positive}" is not among [${output.classes.join(', ')}]`);
  return decisionRule(output.classes.length, positive < 0 ? undefined : positive, output.threshold);
}

function probabilities(values: Float64Array, offset: number, classes: readonly string[]) {
  const out: Record<string, number | null> = {};
  for (let c = 0; c < classes.length; c++) {
    const p = values[offset + c];
    out[classes[c]] = Number.isFinite(p) ? p : null;
  }
  return out;
}

function probabilitiesSchema(output: TaskOutput): JsonSchema {
  return {
    type: 'object',
    description: 'probability of each class',
    properties: Object.fromEntries(output.classes.map((c) => [c, { type: 'number' }])),
  };
}

function checkClass(label: unknown, output: TaskOutput): string | undefined {
  if (typeof label === 'string' && output.classes.includes(label)) return undefined;
  return `expected one of the classes ${output.classes.map((c) => JSON.stringify(c)).join(', ')}`;
}

function classifier(name: 'binary' | 'multiclass', description: string, headline: string): Task {
  return {
    name,
    description,
    target: 'classes',
    defaultHeadline: headline,
    width: (output) => output.classes.length,
    rule: classificationRule,
    present(scores: Scores, i, output) {
      const offset = i * scores.width;
      return {
        label: output.classes[decide(scores.values, offset, classificationRule(output))],
        probabilities: probabilities(scores.values, offset, output.classes),
      };
    },
    schema: (output) => ({
      type: 'object',
      required: ['label', 'probabilities'],
      properties: {
        label: { type: 'string', enum: [...output.classes] },
        probabilities: probabilitiesSchema(output),
      },
    }),
    checkLabel: checkClass,
  };
}

export const binaryTask = classifier(
  'binary',
  'two classes: the probability of each, and a label by the threshold on the positive class',
  'roc_auc',
);

export const multiclassTask = classifier(
  'multiclass',
  'three or more classes: the probability of each, and the most probable as the label',
  'roc_auc',
);

/** One label and one probability row per timestep of a sequence. */
export const sequenceLabellingTask: Task = {
  name: 'sequence_labelling',
  description: 'a class per timestep of a sequence (e.g. the operating mode of each reading)',
  target: 'classes',
  defaultHeadline: 'f1_macro',
  width: (output) => output.classes.length,
  rule: (output) => decisionRule(output.classes.length),
  present(scores, i, output) {
    if (!scores.offsets) throw new Error('sequence labelling scores need per-prediction offsets');
    const rule = decisionRule(output.classes.length);
    const labels: string[] = [];
    const rows: (number | null)[][] = [];
    for (let t = scores.offsets[i]; t < scores.offsets[i + 1]; t++) {
      const offset = t * scores.width;
      labels.push(output.classes[decide(scores.values, offset, rule)]);
      rows.push(Object.values(probabilities(scores.values, offset, output.classes)));
    }
    return { labels, probabilities: rows, classes: [...output.classes] };
  },
  schema: (output) => ({
    type: 'object',
    required: ['labels', 'probabilities'],
    properties: {
      labels: {
        type: 'array',
        description: 'the label of each timestep',
        items: { type: 'string', enum: [...output.classes] },
      },
      probabilities: {
        type: 'array',
        description: 'per timestep, the probability of each class in `classes` order',
        items: { type: 'array', items: { type: 'number' } },
      },
      classes: { type: 'array', items: { type: 'string' } },
    },
  }),
  checkLabel(label, output) {
    if (Array.isArray(label) && label.every((l) => checkClass(l, output) === undefined)) return undefined;
    return `expected a list of labels, each one of ${output.classes.map((c) => JSON.stringify(c)).join(', ')}`;
  },
};
