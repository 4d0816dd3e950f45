import { describe, expect, it } from 'vitest';
import { dropStep, loadStep, scaleStep } from '../../src/features/steps/index.js';
import { fitKind, num, numbers, table } from './helpers.js';

const M = Number.NaN; // missing
const none = { exclude: new Set<string>() };

describe('scale', () => {
  const train = table({
    a: num([1, 2, 3, 4, M]),
    k: num([5, 5, 5, 5, 5], 'integer'),
    flag: num([1, 0, 1, 0, 1], 'boolean'),
  });

  it('uses the training mean and population std (ddof 0); M passes through', async () => {
    const step = await fitKind(scaleStep, train, { step: 'scale', columns: ['a'], method: 'standard' }, none);
    // mean 2.5, population variance 1.25 (scikit-learn StandardScaler: scale_ = 1.118033988749895).
    expect(step.state).toMatchObject({ means: [2.5], scales: [Math.sqrt(1.25)] });
    const out = numbers(step.transform(train, new Map()), 'a');
    expect(out[3]).toBe(1.3416407864998738); // sklearn's transform of 4
    expect(out).toEqual([-1.5, -0.5, 0.5, 1.5, M].map((d) => (Number.isNaN(d) ? d : d / Math.sqrt(1.25))));
  });

  it('divides a constant column by 1, also when rounding makes its variance tiny but not zero', async () => {
    const step = await fitKind(scaleStep, train, { step: 'scale', columns: ['k'], method: 'standard' }, none);
    expect(step.state).toMatchObject({ scales: [1] });
    expect(numbers(step.transform(train, new Map()), 'k')).toEqual([0, 0, 0, 0, 0]);
    // Seven times 0.1 has mean 0.09999999999999999 and population std 1.39e-17, not 0.
    const tenths = table({ t: num(new Array(7).fill(0.1)) });
    const rounded = await fitKind(
      scaleStep,
      tenths,
      { step: 'scale', columns: ['t'], method: 'standard' },
      none,
    );
    expect(rounded.state).toMatchObject({ scales: [1] });
    expect(Math.abs(numbers(rounded.transform(tenths, new Map()), 't')[0])).toBeLessThan(1e-16);
  });

  it('selects number and integer columns by default, not booleans', async () => {
    const step = await fitKind(
      scaleStep,
      train,
      { step: 'scale', columns: 'numeric', method: 'standard' },
      none,
    );
    expect(step.state).toMatchObject({ columns: ['a', 'k'] });
  });

  it('never uses statistics of the batch it transforms', async () => {
    const step = await fitKind(scaleStep, train, { step: 'scale', columns: ['a'], method: 'standard' }, none);
    const batch = table({ a: num([1000, 2000, 3000]) });
    expect(numbers(step.transform(batch, new Map()), 'a')).toEqual(
      [997.5, 1997.5, 2997.5].map((d) => d / Math.sqrt(1.25)),
    );
  });

  it('refuses a column with no values at fit', async () => {
    await expect(
      fitKind(scaleStep, table({ e: num([M]) }), { step: 'scale', columns: ['e'], method: 'standard' }, none),
    ).rejects.toThrow('the mean of column "e" is NaN');
  });

  it('restores from JSON state', async () => {
    const step = await fitKind(
      scaleStep,
      train,
      { step: 'scale', columns: 'numeric', method: 'standard' },
      none,
    );
    const restored = loadStep(JSON.parse(JSON.stringify(step.state)));
    expect(restored.transform(train, new Map())).toEqual(step.transform(train, new Map()));
  });
});

describe('drop', () => {
  it('removes columns, and tolerates their absence at scoring', async () => {
    const t = table({ a: num([1]), b: num([2]), c: num([3]) });
    const step = await fitKind(dropStep, t, { step: 'drop', columns: ['b', 'c'] }, none);
    expect([...step.transform(t, new Map()).columns.keys()]).toEqual(['a']);
    expect([...step.transform(table({ a: num([1]) }), new Map()).columns.keys()]).toEqual(['a']);
    await expect(fitKind(dropStep, t, { step: 'drop', columns: ['typo'] }, none)).rejects.toThrow(
      'no column "typo"',
    );
  });
});
