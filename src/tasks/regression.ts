import type { Task } from './task.js';

/** A number per prediction. */
export const regressionTask: Task = {
  name: 'regression',
  description: 'a number per prediction',
  target: 'numbers',
  defaultHeadline: 'rmse',
  width: () => 1,
  rule: () => undefined,
  present(scores, i) {
    const value = scores.values[i * scores.width];
    return { value: Number.isFinite(value) ? value : null };
  },
  schema: () => ({
    type: 'object',
    required: ['value'],
    properties: { value: { type: 'number', description: 'the predicted value' } },
  }),
  checkLabel: (label) =>
    typeof label === 'number' && Number.isFinite(label) ? undefined : 'expected a finite number',
};

/** A vector per prediction (image or text encoders), compared by cosine similarity downstream. */
export const embeddingTask: Task = {
  name: 'embedding',
  description: 'a vector per prediction, for similarity search',
  target: 'none',
  defaultHeadline: undefined,
  width: (output) => {
    if (output.dimensions === undefined) throw new Error('an embedding output needs its dimensions');
    return output.dimensions;
  },
  rule: () => undefined,
  present(scores, i) {
    const row = scores.values.subarray(i * scores.width, (i + 1) * scores.width);
    return { embedding: Array.from(row, (v) => (Number.isFinite(v) ? v : null)) };
  },
  schema: (output) => ({
    type: 'object',
    required: ['embedding'],
    properties: {
      embedding: {
        type: 'array',
        items: { type: 'number' },
        ...(output.dimensions === undefined
          ? {}
          : { minItems: output.dimensions, maxItems: output.dimensions }),
      },
    },
  }),
  checkLabel: () => 'an embedding model takes no labels',
};
