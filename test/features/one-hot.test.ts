import { describe, expect, it } from 'vitest';
import { builtinStepSchema, loadStep, oneHotStep, ordinalStep } from '../../src/features/steps/index.js';
import type { RowErrors } from '../../src/features/steps/step.js';
import { cat, fitKind, num, numbers, table } from './helpers.js';

const none = { exclude: new Set<string>() };
const oneHot = (input: Record<string, unknown>) => {
  const config = builtinStepSchema.parse({ step: 'one_hot', ...input });
  if (config.step !== 'one_hot') throw new Error('not one_hot');
  return config;
};
const ordinal = (input: Record<string, unknown>) => {
  const config = builtinStepSchema.parse({ step: 'ordinal', ...input });
  if (config.step !== 'ordinal') throw new Error('not ordinal');
  return config;
};

// pandas: pd.get_dummies(df, columns=['x', 'y'], drop_first=True) on this frame gives
// ['n', 'x_a', 'x_b', 'x_c', 'x_é', 'y_v', 'y_w'], and with dummy_na=True
// ['n', 'x_a', 'x_b', 'x_c', 'x_é', 'x_nan', 'y_v', 'y_w', 'y_nan'] (pandas 1.5.3).
const frame = table({
  x: cat(['b', 'a', 'c', 'A', 'é', 'a', null]),
  n: num([1, 2, 3, 4, 5, 6, 7]),
  y: cat(['u', 'v', 'u', null, 'v', 'u', 'w']),
});

describe('one_hot', () => {
  it('names and orders columns as pandas get_dummies(drop_first=True)', async () => {
    const step = await fitKind(
      oneHotStep,
      frame,
      oneHot({ columns: ['x', 'y'], drop: 'first', missing: 'ignore' }),
      none,
    );
    const out = step.transform(frame, new Map());
    expect([...out.columns.keys()]).toEqual(['n', 'x_a', 'x_b', 'x_c', 'x_é', 'y_v', 'y_w']);
    expect(numbers(out, 'x_a')).toEqual([0, 1, 0, 0, 0, 1, 0]);
    expect(numbers(out, 'x_b')).toEqual([1, 0, 0, 0, 0, 0, 0]);
    expect(numbers(out, 'x_é')).toEqual([0, 0, 0, 0, 1, 0, 0]);
    expect(numbers(out, 'y_w')).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect(out.columns.get('x_a')?.type).toBe('boolean');
  });

  it('with missing: level, adds a last "nan" level as pandas dummy_na=True', async () => {
    const step = await fitKind(oneHotStep, frame, oneHot({ columns: ['x', 'y'], drop: 'first' }), none);
    const out = step.transform(frame, new Map());
    expect([...out.columns.keys()]).toEqual([
      'n',
      'x_a',
      'x_b',
      'x_c',
      'x_é',
      'x_nan',
      'y_v',
      'y_w',
      'y_nan',
    ]);
    expect(numbers(out, 'x_nan')).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect(numbers(out, 'y_nan')).toEqual([0, 0, 0, 1, 0, 0, 0]);
  });

  it('keeps every level with drop: none', async () => {
    const step = await fitKind(oneHotStep, frame, oneHot({ columns: ['y'], missing: 'ignore' }), none);
    expect(step.writes).toEqual(['y_u', 'y_v', 'y_w']);
  });

  it('levels are frozen at fit, in code-point order', async () => {
    const t = table({ s: cat(['b', 'a', '😀', 'Ａ', 'A']) });
    // Python: sorted(['b', 'a', '😀', 'Ａ', 'A']) == ['A', 'a', 'b', 'Ａ', '😀'].
    const step = await fitKind(oneHotStep, t, oneHot({ columns: ['s'] }), none);
    expect(step.writes).toEqual(['s_A', 's_a', 's_b', 's_Ａ', 's_😀']);
    const scoring = table({ s: cat(['😀']) });
    expect(step.transform(scoring, new Map()).columns.get('s_😀')?.values).toEqual(Float64Array.from([1]));
  });

  it('unseen: ignore gives all zeros and no row error', async () => {
    const step = await fitKind(
      oneHotStep,
      frame,
      oneHot({ columns: ['y'], drop: 'first', unseen: 'ignore' }),
      none,
    );
    const errors: RowErrors = new Map();
    const out = step.transform(table({ y: cat(['z', 'v']) }), errors);
    expect([numbers(out, 'y_v'), numbers(out, 'y_w'), numbers(out, 'y_nan')]).toEqual([
      [0, 1],
      [0, 0],
      [0, 0],
    ]);
    expect(errors.size).toBe(0);
  });

  it('unseen: error reports the row with the column, the level and the known levels', async () => {
    const step = await fitKind(
      oneHotStep,
      frame,
      oneHot({ columns: ['y'], unseen: 'error', missing: 'ignore' }),
      none,
    );
    const errors: RowErrors = new Map();
    step.transform(table({ y: cat(['v', 'z', null, 'u']) }), errors);
    expect([...errors]).toEqual([[1, 'column "y": unseen level "z" (known: "u", "v", "w")']]);
  });

  it('a missing value not seen at fit is unseen under missing: level', async () => {
    const t = table({ s: cat(['p', 'q']) });
    const step = await fitKind(oneHotStep, t, oneHot({ columns: ['s'], unseen: 'error' }), none);
    expect(step.writes).toEqual(['s_p', 's_q']);
    const errors: RowErrors = new Map();
    step.transform(table({ s: cat([null, 'q']) }), errors);
    expect([...errors]).toEqual([[0, 'column "s": missing value (none at fit) (known: "p", "q")']]);
  });

  it('restores from JSON state', async () => {
    const step = await fitKind(oneHotStep, frame, oneHot({ columns: ['x', 'y'], drop: 'first' }), none);
    const restored = loadStep(JSON.parse(JSON.stringify(step.state)));
    expect(restored.transform(frame, new Map())).toEqual(step.transform(frame, new Map()));
  });

  it('rejects non-string columns and output name collisions', async () => {
    await expect(fitKind(oneHotStep, frame, oneHot({ columns: ['n'] }), none)).rejects.toThrow(
      'column "n" is number: one_hot needs a category or string column',
    );
    const clash = table({ y: cat(['u', 'v']), y_v: num([1, 2]) });
    await expect(fitKind(oneHotStep, clash, oneHot({ columns: ['y'] }), none)).rejects.toThrow(
      'one_hot output column "y_v" already exists',
    );
  });
});

describe('ordinal', () => {
  const t = table({ size: cat(['M', 'S', null, 'L', 'M']) });

  it('encodes an explicit order, missing stays NaN', async () => {
    const step = await fitKind(
      ordinalStep,
      t,
      ordinal({ column: 'size', order: ['S', 'M', 'L', 'XL'] }),
      none,
    );
    const out = step.transform(t, new Map());
    expect(numbers(out, 'size')).toEqual([1, 0, Number.NaN, 2, 1]);
    expect(out.columns.get('size')?.type).toBe('integer');
  });

  it('defaults to the sorted training levels', async () => {
    const step = await fitKind(ordinalStep, t, ordinal({ column: 'size' }), none);
    expect(step.state).toMatchObject({ levels: ['L', 'M', 'S'] });
    expect(numbers(step.transform(t, new Map()), 'size')).toEqual([1, 2, Number.NaN, 0, 1]);
  });

  it('unseen: nan gives NaN, unseen: error reports the row', async () => {
    const scoring = table({ size: cat(['XXL', 'S']) });
    const lenient = await fitKind(ordinalStep, t, ordinal({ column: 'size' }), none);
    const errors: RowErrors = new Map();
    expect(numbers(lenient.transform(scoring, errors), 'size')).toEqual([Number.NaN, 2]);
    expect(errors.size).toBe(0);
    const strict = await fitKind(ordinalStep, t, ordinal({ column: 'size', unseen: 'error' }), none);
    strict.transform(scoring, errors);
    expect([...errors]).toEqual([[0, 'column "size": unseen level "XXL" (known: "L", "M", "S")']]);
  });

  it('rejects a training level missing from the explicit order', async () => {
    await expect(
      fitKind(ordinalStep, t, ordinal({ column: 'size', order: ['S', 'M'] }), none),
    ).rejects.toThrow('column "size" has levels missing from its ordinal order: "L"');
  });
});
