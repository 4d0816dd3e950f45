import { TASK_NAMES } from '../../config/schema.js';
import { findMetric, metricsFor } from '../registry.js';

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A metric value; an em dash for undefined (NaN) or missing. */
export function formatNumber(value: number | undefined, digits = 4): string {
  return value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits);
}

export function formatCount(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
}

export function formatParam(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  return JSON.stringify(value);
}

/** Known metrics in their canonical order, then any others the record holds. */
export function orderedMetricNames(metrics: Readonly<Record<string, number>>): string[] {
  const order = [...new Set(TASK_NAMES.flatMap((task) => metricsFor(task).map((m) => m.name)))];
  const known = order.filter((name) => Object.hasOwn(metrics, name));
  return [...known, ...Object.keys(metrics).filter((name) => findMetric(name) === undefined)];
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
