import { describe, expect, it } from 'vitest';
import { inferSchema, loadTable, renderSchema } from '../../src/data/index.js';
import { fixture, tempDir } from './helpers.js';

const dir = tempDir();

describe('schema inference', () => {
  it('infers integer, number, boolean, datetime, category and text columns with nullability', async () => {
    const rows = ['id,amount,score,flag,label,when,product,comment,age'];
    // 60 rows: three age bands are 5 % of the values, the most a category may have.
    for (let i = 0; i < 60; i++) {
      rows.push(
        [
          i,
          i % 5 === 0 ? 'NA' : String(i * 10),
          (i / 3).toFixed(3),
          i % 2 ? 'TRUE' : 'FALSE',
          i % 2,
          `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
          ['bet', 'gaming'][i % 2],
          `a free text comment number ${i} that goes on for a while`,
          ['<30', '30-50', '50+'][i % 3],
        ].join(','),
      );
    }
    const path = fixture(dir, 'mixed.csv', `${rows.join('\n')}\n`);
    const schema = await inferSchema(path);
    expect(schema).toEqual({
      id: { type: 'integer', nullable: false },
      amount: { type: 'integer', nullable: true },
      score: { type: 'number', nullable: false },
      flag: { type: 'boolean', nullable: false },
      label: { type: 'integer', nullable: false },
      when: { type: 'datetime', nullable: false },
      product: { type: 'category', nullable: false, values: ['bet', 'gaming'] },
      comment: { type: 'text', nullable: false },
      age: { type: 'category', nullable: false, values: ['30-50', '50+', '<30'] },
    });
    // The inferred schema loads the file it came from.
    const { report } = await loadTable({ source: { path }, schema }, { baseDir: dir });
    expect(report.rowsAccepted).toBe(60);
  });

  it('applies source.rename and options, and samples only the first rows', async () => {
    const rows = [',code'];
    for (let i = 1; i <= 30; i++) rows.push(`${i},${i <= 20 ? 'A' : `code-${i}`}`);
    fixture(dir, 'unnamed.csv', `${rows.join('\n')}\n`);
    const sampled = await inferSchema(
      'unnamed.csv',
      { rename: { '': 'customer_id' } },
      { baseDir: dir, sampleRows: 20 },
    );
    expect(sampled).toEqual({
      customer_id: { type: 'integer', nullable: false },
      code: { type: 'category', nullable: false, values: ['A'] },
    });
    const full = await inferSchema('unnamed.csv', {}, { baseDir: dir });
    expect(full).toEqual({
      '': { type: 'integer', nullable: false },
      code: { type: 'string', nullable: false },
    });
  });

  it('renders a TypeScript object literal that evaluates to the schema', () => {
    const schema = {
      '': { type: 'integer' as const, nullable: false },
      deposits: { type: 'number' as const, nullable: true },
      "it's": { type: 'category' as const, nullable: false, values: ['<30', "o'clock", 'a"b'] },
    };
    const text = renderSchema(schema);
    expect(text).toBe(
      [
        '{',
        "  // unnamed column: name it with source.rename, e.g. { '': 'row_id' }",
        "  '': { type: 'integer', nullable: false },",
        "  deposits: { type: 'number', nullable: true },",
        `  'it\\'s': { type: 'category', nullable: false, values: ['<30', 'o\\'clock', 'a"b'] },`,
        '}',
      ].join('\n'),
    );
    expect(new Function(`return ${text};`)()).toEqual(schema);
  });
});
