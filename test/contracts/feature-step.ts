/**
 * The contract every feature step kind keeps, built-in or registered through the SDK: its config is
 * validated by its own schema, a seeded fit is deterministic, its state survives JSON and reloads to
 * an identical transform, a row scores the same alone and in a batch (no statistics of the scoring
 * batch), it gives what it declares and refuses a column of a type it does not take, and it leaves
 * its input table untouched.
 */
import { describe, expect, it } from 'vitest';
import type { FeatureStepConfig } from '../../src/config/schema.js';
import type { CsrMatrix } from '../../src/data/matrix.js';
import { type Column, type Table, takeRows } from '../../src/data/table.js';
import type { FittedStep, RowErrors, StepKind, StepState } from '../../src/features/steps/step.js';

export interface StepContract {
  kind: StepKind;
  /** A config as a project writes it (defaults not filled). */
  config: Record<string, unknown> & { step: string };
  /** Rows to fit on, and other rows to score. */
  train: Table;
  score: Table;
  /** A table whose column the config names has a type the kind does not take. */
  wrongType?: Table;
  /** ONNX parity of the step's ONNX form (built-in steps; see onnx-parity.ts). */
  onnxParity?: (kind: StepKind, state: StepState, table: Table) => Promise<number>;
}

interface Output {
  table: Table;
  sparse?: CsrMatrix;
  tensor?: { shape: readonly number[]; data: ArrayLike<number> };
  rowErrors: RowErrors;
}

function run(step: FittedStep, table: Table): Output {
  const rowErrors: RowErrors = new Map();
  const sparse = step.sparse?.transform(table, rowErrors);
  const tensor = step.tensor?.transform(table, rowErrors);
  return { table: step.transform(table, rowErrors), sparse, tensor, rowErrors };
}

/** Plain values of an output, comparable with toEqual (NaN equals NaN there). */
function plain(output: Output) {
  return {
    columns: [...output.table.columns].map(([name, column]) => [
      name,
      column.type,
      Array.from(column.values as ArrayLike<unknown>),
    ]),
    sparse: output.sparse && {
      rows: output.sparse.rows,
      cols: output.sparse.cols,
      indptr: Array.from(output.sparse.indptr),
      indices: Array.from(output.sparse.indices),
      data: Array.from(output.sparse.data),
    },
    tensor: output.tensor && { shape: [...output.tensor.shape], data: Array.from(output.tensor.data) },
    rowErrors: [...output.rowErrors],
  };
}

/** Row r of an output, for comparing a row scored alone with the same row in a batch. */
function row(output: Output, r: number) {
  const p = plain(output);
  return {
    columns: p.columns.map(([name, type, values]) => [name, type, (values as unknown[])[r]]),
    sparse: p.sparse && {
      indices: p.sparse.indices.slice(p.sparse.indptr[r], p.sparse.indptr[r + 1]),
      data: p.sparse.data.slice(p.sparse.indptr[r], p.sparse.indptr[r + 1]),
    },
    rowError: output.rowErrors.get(r) ?? null,
  };
}

function snapshot(table: Table): unknown {
  return [...table.columns].map(([name, column]: [string, Column]) => [
    name,
    Array.from(column.values as ArrayLike<unknown>),
  ]);
}

export function describeFeatureStepContract(contract: StepContract): void {
  const { kind } = contract;
  const context = { exclude: new Set<string>() };
  const fitStep = async (table = contract.train): Promise<FittedStep> =>
    kind.fit(table, kind.config.parse(contract.config) as FeatureStepConfig, context);

  describe(`feature step contract: ${kind.name} ${JSON.stringify(contract.config)}`, () => {
    it('validates its config with its own schema, filling defaults and refusing unknown fields', () => {
      const parsed = kind.config.parse(contract.config);
      expect(parsed.step).toBe(kind.name);
      expect(kind.config.safeParse({ ...contract.config, notAField: 1 }).success).toBe(false);
      expect(kind.config.safeParse({ ...contract.config, step: `${kind.name}_other` }).success).toBe(false);
    });

    it('fits deterministically: the same state and the same transform', async () => {
      const a = await fitStep();
      const b = await fitStep();
      expect(JSON.stringify(a.state)).toBe(JSON.stringify(b.state));
      expect(plain(run(a, contract.score))).toEqual(plain(run(b, contract.score)));
    });

    it('reloads from its JSON state to an identical transform', async () => {
      const step = await fitStep();
      const loaded = kind.load(JSON.parse(JSON.stringify(step.state)));
      expect(plain(run(loaded, contract.score))).toEqual(plain(run(step, contract.score)));
      expect(loaded.reads).toEqual(step.reads);
      expect(loaded.writes).toEqual(step.writes);
    });

    it('scores a row alone as it scores it in a batch', async () => {
      const step = await fitStep();
      const batch = run(step, contract.score);
      for (const r of [0, Math.floor(contract.score.nRows / 2), contract.score.nRows - 1]) {
        const alone = run(step, takeRows(contract.score, Int32Array.of(r)));
        expect(row(alone, 0)).toEqual(row(batch, r));
      }
    });

    it('gives what it declares, and leaves its input table untouched', async () => {
      const before = snapshot(contract.score);
      const step = await fitStep();
      const output = run(step, contract.score);
      const gives = output.tensor ? 'tensor' : output.sparse ? 'sparse' : 'table';
      expect(gives).toBe(kind.gives);
      expect(snapshot(contract.score)).toEqual(before);
      for (const name of step.reads) {
        const column = contract.train.columns.get(name);
        if (column) expect(kind.takes).toContain(column.type);
      }
    });

    if (contract.wrongType) {
      const wrong = contract.wrongType;
      it('refuses a column of a type it does not take, naming the column', async () => {
        await expect(fitStep(wrong)).rejects.toThrow(/column "[^"]+"/);
      });
    }

    if (kind.exportOnnx && contract.onnxParity) {
      const parity = contract.onnxParity;
      it('has an ONNX form that computes the same features within 1e-9', async () => {
        const step = await fitStep();
        expect(await parity(kind, step.state, contract.score)).toBeLessThanOrEqual(1e-9);
      });
    }
  });
}
