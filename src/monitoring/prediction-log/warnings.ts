import type { PredictionLogLogger } from './log.js';

export type WarningKind = 'dropped' | 'rejected' | 'lost' | 'diskErrors';

const WARNING_TEXT: Record<WarningKind, string> = {
  dropped: 'record(s) dropped: the journal is full',
  lost: 'record(s) lost from the journal',
  rejected: 'record(s) refused',
  diskErrors: 'journal error(s); its records stay on disk and are retried',
};

/**
 * The log's drops and refusals, never silent and never a flood: each kind is logged at once, then at
 * most once per interval with the count since the last line.
 */
export class ThrottledWarnings {
  private readonly entries = new Map<WarningKind, { count: number; last: number; detail: string }>();

  constructor(
    private readonly logger: PredictionLogLogger,
    private readonly intervalMs: number,
    /** The running totals each line carries. */
    private readonly totals: () => { totalDropped: number; totalRejected: number },
  ) {}

  add(kind: WarningKind, count: number, detail: string): void {
    const entry = this.entries.get(kind) ?? { count: 0, last: 0, detail };
    entry.count += count;
    entry.detail = detail;
    this.entries.set(kind, entry);
    if (Date.now() - entry.last >= this.intervalMs) this.emit(kind, entry);
  }

  /** Logs what is due; with `all`, everything counted (at close). */
  report(all: boolean): void {
    const now = Date.now();
    for (const [kind, entry] of this.entries)
      if (entry.count && (all || now - entry.last >= this.intervalMs)) this.emit(kind, entry);
  }

  private emit(kind: WarningKind, entry: { count: number; last: number; detail: string }): void {
    this.logger.warn(
      { [kind]: entry.count, ...this.totals(), detail: entry.detail },
      `prediction log: ${entry.count} ${WARNING_TEXT[kind]}`,
    );
    entry.count = 0;
    entry.last = Date.now();
  }
}
