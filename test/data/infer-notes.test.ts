/**
 * `kiln schema infer` on a credit-like file: low-cardinality text becomes a category with its levels
 * (at most 50 distinct values, at most 5 % of the values), every string-like column says why it went
 * the way it did, and numeric columns show their observed range as a comment to declare.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferColumns, renderSchema } from '../../src/data/infer.js';
import { runCli } from '../serving/server/built-cli.js';
import { fixture, tempDir } from './helpers.js';

const dir = tempDir();
const ROWS = 2_000;
const STATES = Array.from({ length: 45 }, (_, i) => `S${String(i).padStart(2, '0')}`);

function creditCsv(): string {
  const rows = ['id,addr_state,grade,zip,name,income,rate'];
  for (let i = 0; i < ROWS; i++)
    rows.push(
      [
        i,
        STATES[i % STATES.length],
        'ABCDEFG'[i % 7],
        // 60 levels: more than 50, however often each repeats.
        `z${i % 60}`,
        `customer ${i}`,
        i % 10 === 0 ? '' : String(20_000 + ((i * 37) % 90_000)),
        ((i % 300) / 10 - 5).toFixed(1),
      ].join(','),
    );
  return `${rows.join('\n')}\n`;
}

describe('schema inference notes', () => {
  const file = fixture(dir, 'credit.csv', creditCsv());

  it('makes a 45-level text column a category with its levels, and says why each text column went its way', async () => {
    const { schema, notes } = await inferColumns(file);
    expect(schema.addr_state).toEqual({ type: 'category', nullable: false, values: STATES });
    expect(schema.grade.values).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    expect(schema.zip).toEqual({ type: 'string', nullable: false });
    expect(schema.name).toEqual({ type: 'string', nullable: false });
    expect(notes.addr_state).toBe(
      `category: 45 distinct values in ${ROWS} values (at most 50, and at most 5 % of the values); values outside the list are refused`,
    );
    expect(notes.zip).toBe(
      `string, not category: more than 50 distinct values in ${ROWS} values (a category has at most 50, and at most 5 % of the values)`,
    );
    expect(notes.name).toMatch(/^string, not category: more than 50 distinct values/);
  });

  it('refuses a category whose levels do not repeat enough: 40 levels in 400 rows are 10 %', async () => {
    const rows = ['code'];
    for (let i = 0; i < 400; i++) rows.push(`c${i % 40}`);
    const small = fixture(dir, 'small.csv', `${rows.join('\n')}\n`);
    const { schema, notes } = await inferColumns(small);
    expect(schema.code.type).toBe('string');
    expect(notes.code).toBe(
      'string, not category: 40 distinct values in 400 values (a category has at most 50, and at most 5 % of the values)',
    );
    // With 800 rows the same 40 levels are 5 %: a category.
    for (let i = 0; i < 400; i++) rows.push(`c${i % 40}`);
    const more = fixture(dir, 'more.csv', `${rows.join('\n')}\n`);
    expect((await inferColumns(more)).schema.code.type).toBe('category');
  });

  it('gives numeric columns their observed range as a note, not as bounds', async () => {
    const { schema, notes } = await inferColumns(file);
    expect(schema.income).toEqual({ type: 'integer', nullable: true });
    expect(schema.rate).toEqual({ type: 'number', nullable: false });
    expect(notes.income).toBe(
      'observed min: 20037, max: 93963 (to refuse values outside, declare min/max, widened for data to come)',
    );
    expect(notes.rate).toMatch(/^observed min: -5, max: 24\.9 /);
  });

  it('renders each note as a comment above its column; the text still evaluates to the schema', async () => {
    const { schema, notes } = await inferColumns(file);
    const text = renderSchema(schema, notes);
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('  addr_state:'));
    expect(lines[at - 1]).toBe(`  // ${notes.addr_state}`);
    expect(lines[lines.findIndex((l) => l.startsWith('  rate:')) - 1]).toBe(`  // ${notes.rate}`);
    expect(new Function(`return ${text};`)()).toEqual(schema);
  });

  it('kiln schema infer prints the notes', async () => {
    const { code, stdout } = await runCli(['schema', 'infer', path.basename(file)], { cwd: dir });
    expect(code).toBe(0);
    expect(stdout).toContain('  // category: 45 distinct values');
    expect(stdout).toContain("  addr_state: { type: 'category', nullable: false, values: ['S00', ");
    expect(stdout).toContain('  // observed min: 20037, max: 93963');
  });

  it('leaves a line with a broken quote out of the sample: its cells say nothing about types', async () => {
    const broken = fixture(dir, 'broken.csv', 'a,b\n1,2\n3,"4 oops\n5,6\n7,8\n');
    const { schema } = await inferColumns(broken);
    expect(schema.a.type).toBe('integer');
    expect(schema.b.type).toBe('integer');
  });
});
