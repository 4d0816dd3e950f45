import { describe, expect, it } from 'vitest';
import { TASK_NAMES } from '../../src/config/schema.js';
import {
  classificationRule,
  classificationTask,
  getTask,
  isTaskName,
  predictionCount,
  type Scores,
  scoreRow,
  type TaskOutput,
} from '../../src/tasks/index.js';

const scores = (values: number[], width: number, offsets?: number[]): Scores => ({
  values: Float64Array.from(values),
  width,
  ...(offsets ? { offsets: Int32Array.from(offsets) } : {}),
});

describe('getTask', () => {
  it('finds every task by its name', () => {
    for (const name of TASK_NAMES) expect(getTask(name).name).toBe(name);
    expect(TASK_NAMES.every(isTaskName)).toBe(true);
    expect(isTaskName('binary_classification')).toBe(false);
  });

  it('reads the legacy task names of package format 1', () => {
    expect(getTask('binary_classification')).toBe(getTask('binary'));
    expect(getTask('multiclass_classification')).toBe(getTask('multiclass'));
  });

  it('refuses an unknown task, listing the known ones', () => {
    expect(() => getTask('ranking')).toThrow(
      'unknown task "ranking"; known: binary, multiclass, regression, sequence_labelling, embedding',
    );
  });

  it('refuses names that are members of every object, legacy lookup included', () => {
    for (const name of ['toString', 'constructor', 'hasOwnProperty', '__proto__'])
      expect(() => getTask(name), name).toThrow(`unknown task "${name}"`);
  });

  it('picks binary or multiclass by the number of classes', () => {
    expect(classificationTask(2).name).toBe('binary');
    expect(classificationTask(3).name).toBe('multiclass');
  });

  it('has a default headline metric per task', () => {
    expect(getTask('binary').defaultHeadline).toBe('roc_auc');
    expect(getTask('multiclass').defaultHeadline).toBe('roc_auc');
    expect(getTask('regression').defaultHeadline).toBe('rmse');
    expect(getTask('sequence_labelling').defaultHeadline).toBe('f1_macro');
    expect(getTask('embedding').defaultHeadline).toBeUndefined();
  });
});

describe('binary task', () => {
  const task = getTask('binary');
  const output: TaskOutput = { classes: ['no', 'yes'], positive: 'yes', threshold: 0.7 };

  it('presents the label by the threshold on the positive class, a tie at the threshold included', () => {
    const batch = scores([0.3, 0.7, 0.31, 0.69, 0.9, 0.1], 2);
    expect(task.width(output)).toBe(2);
    expect(task.present(batch, 0, output)).toEqual({ label: 'yes', probabilities: { no: 0.3, yes: 0.7 } });
    expect(task.present(batch, 1, output)).toEqual({
      label: 'no',
      probabilities: { no: 0.31, yes: 0.69 },
    });
    expect(task.present(batch, 2, output).label).toBe('no');
  });

  it('decides by argmax without a positive class, and writes a non-finite probability as null', () => {
    const plain = { classes: ['a', 'b'] };
    expect(task.present(scores([0.5, 0.5], 2), 0, plain).label).toBe('a');
    expect(task.present(scores([0.4, 0.6], 2), 0, plain).label).toBe('b');
    expect(task.present(scores([Number.NaN, 0.6], 2), 0, output).probabilities).toEqual({
      no: null,
      yes: 0.6,
    });
  });

  it('has a threshold rule on the positive class', () => {
    expect(task.rule(output)).toEqual({ kind: 'threshold', positive: 1, threshold: 0.7 });
    expect(classificationRule({ classes: ['yes', 'no'], positive: 'yes' })).toEqual({
      kind: 'threshold',
      positive: 0,
      threshold: 0.5,
    });
    expect(() => task.rule({ classes: ['no', 'yes'], positive: 'maybe' })).toThrow(
      'positive class "maybe" is not among [no, yes]',
    );
  });

  it('describes its predictions by a JSON schema naming the classes', () => {
    expect(task.schema(output)).toEqual({
      type: 'object',
      required: ['label', 'probabilities'],
      properties: {
        label: { type: 'string', enum: ['no', 'yes'] },
        probabilities: {
          type: 'object',
          description: 'probability of each class',
          properties: { no: { type: 'number' }, yes: { type: 'number' } },
        },
      },
    });
  });

  it('takes one of its classes as a label', () => {
    expect(task.checkLabel('yes', output)).toBeUndefined();
    expect(task.checkLabel('maybe', output)).toBe('expected one of the classes "no", "yes"');
    expect(task.checkLabel(1, output)).toBe('expected one of the classes "no", "yes"');
    expect(task.checkLabel(null, output)).toBe('expected one of the classes "no", "yes"');
  });
});

describe('multiclass task', () => {
  const task = getTask('multiclass');
  const output: TaskOutput = { classes: ['a', 'b', 'c'] };

  it('presents the most probable class, the first on ties', () => {
    const batch = scores([0.2, 0.5, 0.3, 0.4, 0.2, 0.4], 3);
    expect(task.width(output)).toBe(3);
    expect(task.present(batch, 0, output)).toEqual({ label: 'b', probabilities: { a: 0.2, b: 0.5, c: 0.3 } });
    expect(task.present(batch, 1, output).label).toBe('a');
    expect(task.rule(output)).toEqual({ kind: 'argmax', classes: 3 });
  });

  it('has a schema with every class and takes its classes as labels', () => {
    const schema = task.schema(output) as { properties: { label: { enum: string[] } } };
    expect(schema.properties.label.enum).toEqual(['a', 'b', 'c']);
    expect(task.checkLabel('c', output)).toBeUndefined();
    expect(task.checkLabel('d', output)).toBe('expected one of the classes "a", "b", "c"');
  });
});

describe('regression task', () => {
  const task = getTask('regression');
  const output: TaskOutput = { classes: [] };

  it('presents one value per prediction, null when not finite', () => {
    const batch = scores([2.5, Number.NaN, -1], 1);
    expect(task.width(output)).toBe(1);
    expect(task.target).toBe('numbers');
    expect(task.present(batch, 0, output)).toEqual({ value: 2.5 });
    expect(task.present(batch, 1, output)).toEqual({ value: null });
    expect(task.present(batch, 2, output)).toEqual({ value: -1 });
    expect(task.rule(output)).toBeUndefined();
  });

  it('has a schema with the value and takes finite numbers as labels', () => {
    expect(task.schema(output)).toEqual({
      type: 'object',
      required: ['value'],
      properties: { value: { type: 'number', description: 'the predicted value' } },
    });
    expect(task.checkLabel(3.25, output)).toBeUndefined();
    expect(task.checkLabel(0, output)).toBeUndefined();
    expect(task.checkLabel('3', output)).toBe('expected a finite number');
    expect(task.checkLabel(Number.NaN, output)).toBe('expected a finite number');
    expect(task.checkLabel(Number.POSITIVE_INFINITY, output)).toBe('expected a finite number');
  });
});

describe('embedding task', () => {
  const task = getTask('embedding');
  const output: TaskOutput = { classes: [], dimensions: 3 };

  it('presents a vector per prediction, null for a non-finite component', () => {
    const batch = scores([1, 2, 3, 4, Number.NaN, 6], 3);
    expect(task.width(output)).toBe(3);
    expect(task.target).toBe('none');
    expect(task.present(batch, 0, output)).toEqual({ embedding: [1, 2, 3] });
    expect(task.present(batch, 1, output)).toEqual({ embedding: [4, null, 6] });
    expect(() => task.width({ classes: [] })).toThrow('an embedding output needs its dimensions');
  });

  it('has a schema with the vector length and takes no labels', () => {
    expect(task.schema(output)).toEqual({
      type: 'object',
      required: ['embedding'],
      properties: { embedding: { type: 'array', items: { type: 'number' }, minItems: 3, maxItems: 3 } },
    });
    expect(task.checkLabel([1, 2, 3], output)).toBe('an embedding model takes no labels');
  });
});

describe('sequence labelling task', () => {
  const task = getTask('sequence_labelling');
  const output: TaskOutput = { classes: ['idle', 'run'] };

  it('presents a label and a probability row per timestep of each prediction', () => {
    // Two predictions: timesteps 0-1 and 2-4; argmax per timestep, the first class on a tie.
    const batch = scores([0.9, 0.1, 0.3, 0.7, 0.5, 0.5, Number.NaN, 1, 0.2, 0.8], 2, [0, 2, 5]);
    expect(predictionCount(batch)).toBe(2);
    expect(task.present(batch, 0, output)).toEqual({
      labels: ['idle', 'run'],
      probabilities: [
        [0.9, 0.1],
        [0.3, 0.7],
      ],
      classes: ['idle', 'run'],
    });
    expect(task.present(batch, 1, output)).toEqual({
      labels: ['idle', 'idle', 'run'],
      probabilities: [
        [0.5, 0.5],
        [null, 1],
        [0.2, 0.8],
      ],
      classes: ['idle', 'run'],
    });
    expect(() => task.present(scores([0.5, 0.5], 2), 0, output)).toThrow(/need per-prediction offsets/);
  });

  it('has a schema of label and probability lists and takes a list of its classes', () => {
    const schema = task.schema(output) as {
      required: string[];
      properties: { labels: { items: { enum: string[] } } };
    };
    expect(schema.required).toEqual(['labels', 'probabilities']);
    expect(schema.properties.labels.items.enum).toEqual(['idle', 'run']);
    expect(task.checkLabel(['idle', 'run', 'run'], output)).toBeUndefined();
    expect(task.checkLabel([], output)).toBeUndefined();
    expect(task.checkLabel(['idle', 'walk'], output)).toBe(
      'expected a list of labels, each one of "idle", "run"',
    );
    expect(task.checkLabel('idle', output)).toBe('expected a list of labels, each one of "idle", "run"');
  });
});

describe('scores', () => {
  it('counts predictions and reads rows', () => {
    const batch = scores([1, 2, 3, 4, 5, 6], 3);
    expect(predictionCount(batch)).toBe(2);
    expect(Array.from(scoreRow(batch, 1))).toEqual([4, 5, 6]);
    expect(predictionCount(scores([], 0))).toBe(0);
  });
});
