/**
 * Errors of the data layer. Every message starts with the file and names the line (or Parquet row) and
 * column when they are known, so a user can go straight to the bad cell.
 */

/** How a file counts its records: text files by line (the header is line 1), Parquet by data row. */
export type LocationUnit = 'line' | 'row';

export interface DataErrorDetails {
  line?: number;
  unit?: LocationUnit;
  /** The column the problem is in; becomes part of the location in the message. */
  column?: string;
  /** Columns a file-level problem is about (the problem text names them). */
  columns?: readonly string[];
  cause?: unknown;
}

/** A data file cannot be read as declared: missing, empty, malformed, or not matching the schema. */
export class DataError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly columns: readonly string[];

  /** Message: `<file>: <unit> <line>, column "<column>": <problem>`, with only the known location parts. */
  constructor(file: string, problem: string, details: DataErrorDetails = {}) {
    const at: string[] = [];
    if (details.line !== undefined) at.push(`${details.unit ?? 'line'} ${details.line}`);
    if (details.column !== undefined) at.push(`column ${JSON.stringify(details.column)}`);
    const where = at.length > 0 ? `${at.join(', ')}: ` : '';
    super(`${file}: ${where}${problem}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DataError';
    this.file = file;
    this.line = details.line ?? null;
    this.columns = details.column !== undefined ? [details.column] : (details.columns ?? []);
  }
}

/** A row refused by validation, with everything needed to fix it. */
export interface RejectedRow {
  /** 1-based source line (CSV, header included) or data row (Parquet). */
  readonly line: number;
  /** Column of the bad cell; null when the row as a whole is bad (wrong number of cells). */
  readonly column: string | null;
  /** The cell as read, null when missing or when the whole row is bad. */
  readonly value: string | null;
  /** What was expected, without the location (e.g. `"abc" is not a number`). */
  readonly reason: string;
  /** All original cells as text, in file order. */
  readonly cells: readonly string[];
}

/** How many invalid rows a `fail` error lists; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 100;

/**
 * Rows failed validation under policy `fail`. The load reads on to the end of the file so that one run
 * shows every problem: `problems` holds the first {@link MAX_LISTED_PROBLEMS}, `count` all of them.
 * One problem: `<file>: line 17, column "age": "abc" is not a number` (the reason a quarantined row would
 * get); several: `<file>: 8 of 1000 rows are invalid ...` and one line per problem. `line`, `column`,
 * `value` and `reason` are the first problem's.
 */
export class DataValidationError extends DataError {
  override readonly line: number;
  readonly column: string | null;
  readonly value: string | null;
  readonly reason: string;
  /** The first problems, in file order. */
  readonly problems: readonly RejectedRow[];
  /** All invalid rows, listed or not. */
  readonly count: number;

  constructor(
    file: string,
    problems: readonly RejectedRow[],
    unit: LocationUnit,
    counts: { count?: number; rowsRead?: number } = {},
  ) {
    const [first] = problems;
    const count = counts.count ?? problems.length;
    if (count === 1) {
      super(file, first.reason, { line: first.line, unit, column: first.column ?? undefined });
    } else {
      const listed = problems.map((row) => `  ${locate(row, unit)}${row.reason}`);
      if (count > problems.length) listed.push(`  ... and ${count - problems.length} more`);
      const of = counts.rowsRead === undefined ? '' : ` of ${counts.rowsRead}`;
      super(
        file,
        `${count}${of} rows are invalid (onInvalid: "fail"; "quarantine" sets them aside in a rejects file):\n${listed.join('\n')}`,
        { unit },
      );
    }
    this.name = 'DataValidationError';
    this.line = first.line;
    this.column = first.column;
    this.value = first.value;
    this.reason = first.reason;
    this.problems = problems;
    this.count = count;
  }
}

function locate(row: RejectedRow, unit: LocationUnit): string {
  return `${unit} ${row.line}${row.column === null ? '' : `, column ${JSON.stringify(row.column)}`}: `;
}

/** A quarantining load rejected a larger share of the rows than `data.maxRejectedFraction` allows. */
export class RejectedShareError extends DataError {
  constructor(
    file: string,
    readonly rowsRead: number,
    readonly rowsRejected: number,
    readonly maxRejectedFraction: number,
    readonly rejectsPath: string,
  ) {
    const share = rowsRejected / rowsRead;
    super(
      file,
      `${rowsRejected} of ${rowsRead} rows were rejected (${percent(share)}), more than ` +
        `data.maxRejectedFraction ${maxRejectedFraction} (${percent(maxRejectedFraction)}) allows; ` +
        `the rejected rows and their reasons are in ${rejectsPath}`,
    );
    this.name = 'RejectedShareError';
  }
}

function percent(share: number): string {
  return `${Number((share * 100).toPrecision(3))} %`;
}
