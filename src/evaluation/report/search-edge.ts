import { formatParam } from './format.js';
import type { RunReport } from './types.js';

/**
 * Warnings for a search whose selected trial sits at the edge of what was searched: for each numeric
 * setting the trials vary over at least 3 values, the selected trial's value is the smallest or the
 * largest of them, so the best setting may lie beyond the searched values (e.g. C = 10 best in
 * [0.01, 0.1, 1, 10]). With 2 values every winner is at an edge, and says nothing about where the best
 * lies, so those are not flagged. Settings that are not numbers (strings, booleans) have no edge.
 */
export function searchEdgeWarnings(search: RunReport['search']): string[] {
  if (!search || search.bestId === undefined) return [];
  const best = search.trials.find((t) => t.id === search.bestId);
  if (!best) return [];
  const warnings: string[] = [];
  for (const [name, chosen] of Object.entries(best.params)) {
    if (typeof chosen !== 'number') continue;
    const values = search.trials.map((t) => t.params[name]);
    if (!values.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) continue;
    const distinct = [...new Set(values)].sort((a, b) => a - b);
    if (distinct.length < 3) continue;
    const low = distinct[0];
    const high = distinct[distinct.length - 1];
    if (chosen !== low && chosen !== high) continue;
    const side = chosen === high ? 'largest' : 'smallest';
    warnings.push(
      `search: the selected ${name} = ${formatParam(chosen)} is the ${side} value searched (${formatParam(low)} … ${formatParam(high)}, ${distinct.length} values): the best may lie beyond it; extend model.search.space.${name} ${side === 'largest' ? 'above' : 'below'} ${formatParam(chosen)}`,
    );
  }
  return warnings;
}

/** The run's warnings and the search-edge ones, each once (a run may have recorded them already). */
export function reportWarnings(report: Pick<RunReport, 'warnings' | 'search'>): string[] {
  return [...new Set([...(report.warnings ?? []), ...searchEdgeWarnings(report.search)])];
}
