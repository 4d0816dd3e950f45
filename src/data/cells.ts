/**
 * Problems inside one structured cell (a sequence's timesteps, a blob's bytes), each at its place in
 * two spellings: a JSON Pointer below the cell for request errors (`/3/s2`), and words for files'
 * rejects (`timestep 3, s2`). The same reason text serves both, so a value is refused the same way in a
 * CSV cell and in a request body.
 */

export interface CellProblem {
  /** JSON Pointer (RFC 6901) below the cell, '' for the cell as a whole. */
  readonly pointer: string;
  /** The same place in words, '' for the cell as a whole. */
  readonly place: string;
  readonly reason: string;
}

/** Problems reported per cell before the rest are only counted, so one bad cell cannot flood a reply. */
export const MAX_CELL_PROBLEMS = 10;

/** Collects a cell's problems up to MAX_CELL_PROBLEMS, then counts the rest. */
export class CellProblems {
  readonly list: CellProblem[] = [];
  private more = 0;

  add(pointer: string, place: string, reason: string): void {
    if (this.list.length < MAX_CELL_PROBLEMS) this.list.push({ pointer, place, reason });
    else this.more++;
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** The problems, with a last one at the cell counting those left out. */
  done(): CellProblem[] {
    if (this.more > 0)
      this.list.push({ pointer: '', place: '', reason: `and ${plural(this.more, 'more problem')}` });
    return this.list;
  }
}

/** One problem as a rejects-file reason: `timestep 3, s2: expected a number, got string "x"`. */
export function problemText(problem: CellProblem): string {
  return problem.place ? `${problem.place}: ${problem.reason}` : problem.reason;
}

/** A cell's problems as one rejects-file reason: the first, and how many more there are. */
export function problemsText(problems: readonly CellProblem[]): string {
  const first = problemText(problems[0]);
  const others = problems.slice(1);
  if (others.length === 0) return first;
  // The counting problem, if any, stands for several.
  const last = others[others.length - 1];
  const counted = /^and (\d+) more problem/.exec(last.reason);
  const more = counted ? others.length - 1 + Number(counted[1]) : others.length;
  return `${first} (and ${plural(more, 'more problem')})`;
}

/** A JSON value for a message: `null`, `an array`, `an object`, `string "x"`, `number 3`, `boolean true`. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** Pointer-escapes one path segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
