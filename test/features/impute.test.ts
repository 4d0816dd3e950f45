import { describe, expect, it } from 'vitest';
import { imputeStep, loadStep } from '../../src/features/steps/index.js';
import { cat, fitKind, num, numbers, table } from './helpers.js';

const M = Number.NaN; // missing
const none = { exclude: new Set<string>() };

describe('impute', () => {
  const train = table({
    even: num([1, M, 4, 2, 10]),
    odd: num([7, 1, M, 3, M]),
    flag: num([1, 0, M, 0, 1], 'boolean'),
    when: num([0, 1, 2, M, 4], 'datetime'),
    kind: cat(['b', 'a', null, 'b', 'a']),
  });

  it("median is numpy's: the mean of the two middle values for an even count", async () => {
    const step = await fitKind(
      imputeStep,
      train,
      { step: 'impute', columns: ['even', 'odd'], strategy: 'median' },
      none,
    );
    // even: [1, 2, 4, 10] → (2 + 4) / 2; odd: [1, 3, 7] → 3.
    expect(step.state).toMatchObject({ columns: ['even', 'odd'], fills: [3, 3] });
    const out = step.transform(train, new Map());
    expect(numbers(out, 'even')).toEqual([1, 3, 4, 2, 10]);
    expect(numbers(out, 'odd')).toEqual([7, 1, 3, 3, 3]);
  });

  it('mean skips missing values', async () => {
    const step = await fitKind(
      imputeStep,
      train,
      { step: 'impute', columns: ['even'], strategy: 'mean' },
      none,
    );
    expect(step.state).toMatchObject({ fills: [17 / 4] });
  });

  it('mode breaks ties with the smallest value, for numbers and strings', async () => {
    const ties = table({ n: num([3, 3, 1, 1, M, 2]), flag: num([1, 0, M, 0, 1, M], 'boolean') });
    const step = await fitKind(
      imputeStep,
      ties,
      { step: 'impute', columns: ['n', 'flag'], strategy: 'mode' },
      none,
    );
    expect(step.state).toMatchObject({ fills: [1, 0] });
    const s = await fitKind(
      imputeStep,
      table({ s: cat(['b', 'a', 'b', 'a', null, 'c', 'B', 'B']) }),
      { step: 'impute', columns: ['s'], strategy: 'mode' },
      none,
    );
    // a, b and B appear twice; "B" < "a" < "b" by code point.
    expect(s.state).toMatchObject({ fills: ['B'] });
    const reversed = await fitKind(
      imputeStep,
      table({ s: cat(['B', 'B', 'c', null, 'a', 'b', 'a', 'b']) }),
      { step: 'impute', columns: ['s'], strategy: 'mode' },
      none,
    );
    expect(reversed.state).toMatchObject({ fills: ['B'] });
  });

  it('fills string columns with a constant such as "onbekend", selected by type', async () => {
    const step = await fitKind(
      imputeStep,
      train,
      { step: 'impute', columns: 'category', strategy: 'constant', value: 'onbekend' },
      none,
    );
    expect(step.state).toMatchObject({ columns: ['kind'], fills: ['onbekend'] });
    expect(step.transform(train, new Map()).columns.get('kind')?.values).toEqual([
      'b',
      'a',
      'onbekend',
      'b',
      'a',
    ]);
  });

  it('resolves selectors at fit: numeric is number/integer only, excluded columns never match', async () => {
    const t = table({
      a: num([1, M]),
      b: num([M, 2], 'integer'),
      target: num([0, 1], 'integer'),
      flag: num([M, 1], 'boolean'),
      when: num([M, 5], 'datetime'),
    });
    const step = await fitKind(
      imputeStep,
      t,
      { step: 'impute', columns: 'numeric', strategy: 'constant', value: -1 },
      {
        exclude: new Set(['target']),
      },
    );
    expect(step.state).toMatchObject({ columns: ['a', 'b'] });
    const bools = await fitKind(
      imputeStep,
      t,
      { step: 'impute', columns: 'boolean', strategy: 'mode' },
      none,
    );
    expect(bools.state).toMatchObject({ columns: ['flag'], fills: [1] });
    // Frozen: a scoring table with another numeric column does not widen the selection.
    const scoring = table({ a: num([M]), b: num([M], 'integer'), c: num([M]) });
    const out = step.transform(scoring, new Map());
    expect([numbers(out, 'a'), numbers(out, 'b'), numbers(out, 'c')]).toEqual([[-1], [-1], [M]]);
  });

  it('uses the frozen fill, never statistics of the batch it transforms', async () => {
    const step = await fitKind(
      imputeStep,
      train,
      { step: 'impute', columns: ['even'], strategy: 'median' },
      none,
    );
    const batch = table({ even: num([1000, M, 3000, M]) });
    expect(numbers(step.transform(batch, new Map()), 'even')).toEqual([1000, 3, 3000, 3]);
  });

  it('does not modify its input', async () => {
    const step = await fitKind(
      imputeStep,
      train,
      { step: 'impute', columns: ['even'], strategy: 'median' },
      none,
    );
    step.transform(train, new Map());
    expect(numbers(train, 'even')).toEqual([1, M, 4, 2, 10]);
  });

  it('rejects impossible configurations at fit', async () => {
    await expect(
      fitKind(imputeStep, train, { step: 'impute', columns: ['kind'], strategy: 'median' }, none),
    ).rejects.toThrow(
      'column "kind" is category: strategy median needs a numeric column (use mode or constant)',
    );
    await expect(
      fitKind(
        imputeStep,
        train,
        { step: 'impute', columns: ['even'], strategy: 'constant', value: 'x' },
        none,
      ),
    ).rejects.toThrow('a constant fill needs a number, got "x"');
    await expect(
      fitKind(imputeStep, train, { step: 'impute', columns: ['kind'], strategy: 'constant', value: 0 }, none),
    ).rejects.toThrow('a constant fill needs a string, got 0');
    const empty = table({ e: num([M, M]) });
    await expect(
      fitKind(imputeStep, empty, { step: 'impute', columns: ['e'], strategy: 'median' }, none),
    ).rejects.toThrow('the median of column "e" is NaN');
    await expect(
      fitKind(imputeStep, train, { step: 'impute', columns: ['nope'], strategy: 'mean' }, none),
    ).rejects.toThrow('no column "nope"');
    await expect(
      fitKind(
        imputeStep,
        train,
        { step: 'impute', columns: ['even'], strategy: 'mean' },
        { exclude: new Set(['even']) },
      ),
    ).rejects.toThrow('column "even" is excluded');
    await expect(
      fitKind(
        imputeStep,
        table({ s: cat(['x']) }),
        { step: 'impute', columns: 'numeric', strategy: 'mean' },
        none,
      ),
    ).rejects.toThrow(
      'selector "numeric" (number/integer columns) matches no column; types present: category',
    );
  });

  it('restores from JSON state', async () => {
    const step = await fitKind(
      imputeStep,
      train,
      { step: 'impute', columns: ['even', 'kind'], strategy: 'mode' },
      none,
    );
    const restored = loadStep(JSON.parse(JSON.stringify(step.state)));
    expect(restored.transform(train, new Map())).toEqual(step.transform(train, new Map()));
    expect(() => loadStep({ ...step.state, fills: [1] })).toThrow('one fill per column');
  });
});
