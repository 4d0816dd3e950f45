import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SequenceColumn } from '../../../src/data/table.js';
import { type LiveModel, probeRecord, tableRow } from '../../../src/serving/server/predict.js';
import {
  compileSignature,
  instanceLayout,
  RECORDS,
  rowsToTable,
  tensorToColumn,
} from '../../../src/serving/server/validation.js';

describe('request validation', () => {
  const signature = compileSignature(
    [
      { name: 'age', type: 'number', nullable: true },
      { name: 'province', type: 'category', nullable: true },
    ],
    'customer_id',
  );
  const rowPath = (i: number) => `/${i}`;

  it("accepts the package's id column as a known, non-feature field", () => {
    const { table, errors } = rowsToTable(
      signature,
      [{ customer_id: 7, age: 42, province: 'UTRECHT' }],
      RECORDS,
      rowPath,
      'reject',
    );
    expect(errors).toEqual([]);
    expect(table.nRows).toBe(1);
    expect([...table.columns.keys()]).toEqual(['age', 'province']);
  });

  it('still rejects other unknown fields, naming their path', () => {
    const { errors } = rowsToTable(
      signature,
      [{ customer_id: 7, age: 42, colour: 'red' }],
      RECORDS,
      rowPath,
      'reject',
    );
    expect(errors).toEqual([{ path: '/0/colour', reason: 'unknown field (not in the model signature)' }]);
  });
});

describe('request validation: sequence and blob fields', () => {
  const PNG_1X1 =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
  const signature = compileSignature([
    {
      name: 'readings',
      type: 'sequence',
      nullable: false,
      fields: ['s1', 's2'],
      length: { min: 5 },
    },
    { name: 'level', type: 'sequence', nullable: true },
    { name: 'image', type: 'blob', nullable: true, maxBytes: 8 * 1024 * 1024, mediaTypes: ['image/png'] },
  ]);
  const rowPath = (i: number) => `/${i}`;
  const five = [[1, 2], { s1: 3, s2: 4 }, [5, 6], [7, 8], [9, 10]];

  it('reads sequences (arrays or objects per timestep) and base64 blobs into typed cells', () => {
    const { table, errors } = rowsToTable(
      signature,
      [
        { readings: five, level: [0.5, 1.5], image: PNG_1X1 },
        { readings: five, level: null },
      ],
      RECORDS,
      rowPath,
      'reject',
    );
    expect(errors).toEqual([]);
    const readings = table.columns.get('readings') as SequenceColumn;
    expect(readings.width).toBe(2);
    expect(readings.values[0]).toEqual(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect((table.columns.get('level') as SequenceColumn).width).toBe(1);
    expect(table.columns.get('level')!.values).toEqual([Float64Array.from([0.5, 1.5]), null]);
    expect(table.columns.get('image')!.values[0]).toEqual(new Uint8Array(Buffer.from(PNG_1X1, 'base64')));
    expect(table.columns.get('image')!.values[1]).toBeNull();
  });

  it('reports every bad element at its JSON path', () => {
    const nine = Buffer.alloc(9 * 1024 * 1024).toString('base64');
    const { errors } = rowsToTable(
      signature,
      [
        { readings: [...five.slice(0, 3), { s1: 1, s2: 'x' }, five[4]], image: 'not base64!' },
        { readings: five.slice(0, 2), level: [1, true], image: nine },
        { readings: 'abc', image: 42 },
        { level: [[1, 2]], image: Buffer.from('GIF89a').toString('base64') },
      ],
      RECORDS,
      rowPath,
      'reject',
    );
    expect(errors).toEqual([
      { path: '/0/readings/3/s2', reason: 'expected a number, got string "x"' },
      { path: '/0/image', reason: 'not base64 (character 10 is "!")' },
      { path: '/1/readings', reason: '2 timesteps, at least 5 needed' },
      { path: '/1/level/1', reason: 'expected a number, got boolean true' },
      { path: '/1/image', reason: '9 MiB, more than maxBytes 8 MiB' },
      { path: '/2/readings', reason: 'expected a JSON array of timesteps, got string "abc"' },
      { path: '/2/image', reason: 'expected a base64 string, got number 42' },
      { path: '/3/level/0', reason: 'expected 1 value, got 2' },
      { path: '/3/image', reason: 'image/gif content, not one of image/png' },
      { path: '/3/readings', reason: 'missing required field' },
    ]);
  });

  it('takes them positionally too, the column named in each reason', () => {
    const layout = instanceLayout(signature, ['readings', 'image']);
    const { table, errors } = rowsToTable(
      signature,
      [
        [five, PNG_1X1],
        [[[1, 'x']], 'AA'],
      ],
      layout,
      rowPath,
      'reject',
    );
    expect(table.columns.get('readings')!.values[0]).toHaveLength(10);
    expect(errors).toEqual([
      { path: '/1/0', reason: 'readings: 1 timestep, at least 5 needed' },
      { path: '/1/0/0/1', reason: 'readings: expected a number, got string "x"' },
      { path: '/1/1', reason: 'image: content of no known media type, not one of image/png' },
    ]);
  });

  it('takes an OIP v2 BYTES tensor of base64 strings for a blob column', () => {
    const image = signature.columns[2];
    const errors: { path: string; reason: string }[] = [];
    const values = tensorToColumn(image, [[PNG_1X1], 'AA!'], '/inputs/0/data', errors);
    expect(values[0]).toBeInstanceOf(Uint8Array);
    expect(errors).toEqual([{ path: '/inputs/0/data/1', reason: 'image: not base64 (character 2 is "!")' }]);
  });

  it('logs sequences as arrays and blobs as their size and digest, never their bytes', () => {
    const { table } = rowsToTable(
      signature,
      [{ readings: five, level: [0.5], image: PNG_1X1 }],
      RECORDS,
      rowPath,
      'reject',
    );
    const bytes = Buffer.from(PNG_1X1, 'base64');
    expect(tableRow(table, 0)).toEqual({
      readings: [
        [1, 2],
        [3, 4],
        [5, 6],
        [7, 8],
        [9, 10],
      ],
      level: [0.5],
      image: { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    });
  });

  it('gives them valid values in the probe row', () => {
    const probe = probeRecord({ signature } as LiveModel);
    expect(probe.readings).toHaveLength(64);
    expect(rowsToTable(signature, [probe], RECORDS, rowPath, 'reject').errors).toEqual([]);
    const gif = compileSignature([
      { name: 'image', type: 'blob', nullable: false, mediaTypes: ['image/gif'] },
      { name: 'window', type: 'sequence', nullable: false, length: { max: 3 }, min: 2 },
    ]);
    const record = probeRecord({ signature: gif } as LiveModel);
    expect(record.window).toEqual([2, 2, 2]);
    expect(rowsToTable(gif, [record], RECORDS, rowPath, 'reject').errors).toEqual([]);
  });
});
