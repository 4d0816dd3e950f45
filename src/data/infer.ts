/**
 * Schema inference for `kiln schema infer`: a starting schema from a sample of the file, meant to be
 * read and edited, then declared. Order of preference per column: boolean (words such as TRUE/FALSE),
 * integer, number, datetime (ISO 8601), category (few distinct values), text (long, spaced), string.
 *
 * Each column gets a note saying why where the choice is a judgement: the category rule's numbers for
 * string-like columns, and the sample's range for numeric ones. The range is a note, not min/max: a
 * sample's extremes are not the domain's bounds, and declared bounds refuse rows (in training and in
 * every request served), so the first customer above the sample's largest deposit would be rejected.
 */
import { type ColumnSpec, type SourceConfig, sourceSchema } from '../config/schema.js';
import { NUMBER_TEXT, parseIsoDatetime } from './coerce.js';
import { openSource } from './open.js';
import type { RawValue } from './source.js';

export interface InferOptions {
  /** Folder a relative path is resolved against (default: the working directory). */
  baseDir?: string;
  /** Data rows read (default 100,000); rarer category values than the sample shows will be rejected later. */
  sampleRows?: number;
  /** A string column with at most this many distinct values can be a category (default 50)... */
  maxCategories?: number;
  /** ...and at most this share of its values distinct, so each level repeats (default 0.05). */
  maxCategoryShare?: number;
}

/** A starting schema, with a note per column where the inference made a judgement. */
export interface InferredSchema {
  schema: Record<string, ColumnSpec>;
  /** Why a column got its type (the category rule), or the sample's range of a numeric column. */
  notes: Record<string, string>;
}

export const MAX_CATEGORIES = 50;
export const MAX_CATEGORY_SHARE = 0.05;

type SourceOptions = Omit<Partial<SourceConfig>, 'path'>;

const INTEGER = /^[+-]?\d+$/;
const BOOLEAN_WORDS = new Set(['true', 'false', 'yes', 'no']);
const BOOLEAN_DIGITS = new Set(['1', '0']);
/** Mean length above which a spaced string column is free text rather than a short string. */
const TEXT_LENGTH = 30;

/**
 * Infers a schema from the first `sampleRows` data rows of a CSV or Parquet file. Column names are
 * the file's after `source.rename`; a column is nullable when the sample has a missing value in it.
 */
export async function inferSchema(
  file: string,
  source: SourceOptions = {},
  options: InferOptions = {},
): Promise<Record<string, ColumnSpec>> {
  return (await inferColumns(file, source, options)).schema;
}

/** `inferSchema`, with each column's note (see `InferredSchema`) for `renderSchema`. */
export async function inferColumns(
  file: string,
  source: SourceOptions = {},
  options: InferOptions = {},
): Promise<InferredSchema> {
  const config = sourceSchema.parse({ ...source, path: file });
  const sampleRows = options.sampleRows ?? 100_000;
  const rule = {
    maxCategories: options.maxCategories ?? MAX_CATEGORIES,
    maxShare: options.maxCategoryShare ?? MAX_CATEGORY_SHARE,
  };
  const missing = new Set(config.missing);
  const raw = await openSource(options.baseDir ?? process.cwd(), config);
  let names: string[];
  let stats: ColumnStats[];
  try {
    names = (raw.header ?? Array.from({ length: raw.width }, (_, i) => `column_${i + 1}`)).map((name) =>
      Object.hasOwn(config.rename, name) ? config.rename[name] : name,
    );
    stats = names.map(() => new ColumnStats(rule));
    let seen = 0;
    sample: for await (const batch of raw.batches()) {
      for (const [r, cells] of batch.rows.entries()) {
        // Rows with the wrong cell count or a broken quote are validation's to report; they say nothing
        // about types.
        if (cells.length !== raw.width || batch.malformed?.has(r)) continue;
        for (let j = 0; j < cells.length; j++) stats[j].add(cells[j], missing);
        if (++seen >= sampleRows) break sample;
      }
    }
  } finally {
    await raw.close();
  }
  const schema: Record<string, ColumnSpec> = {};
  const notes: Record<string, string> = {};
  names.forEach((name, j) => {
    const { spec, note } = stats[j].infer();
    schema[name] = spec;
    if (note) notes[name] = note;
  });
  return { schema, notes };
}

interface CategoryRule {
  maxCategories: number;
  maxShare: number;
}

class ColumnStats {
  private present = 0;
  private missing = 0;
  private integer = true;
  private number = true;
  private boolean = true;
  private booleanWords = false;
  private datetime = true;
  private distinct: Set<string> | null = new Set();
  private totalLength = 0;
  private spaced = 0;
  /** Distinct values seen before `distinct` was dropped for having too many. */
  private distinctCount = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  constructor(private readonly rule: CategoryRule) {}

  add(raw: RawValue, missing: ReadonlySet<string>): void {
    if (
      raw === null ||
      (typeof raw === 'number' && Number.isNaN(raw)) ||
      (typeof raw === 'string' && (missing.has(raw) || missing.has(raw.trim())))
    ) {
      this.missing++;
      return;
    }
    this.present++;
    if (typeof raw === 'string') this.addText(raw);
    else if (typeof raw === 'number') {
      this.integer &&= Number.isSafeInteger(raw);
      this.range(raw);
      this.boolean = false;
      this.datetime = false;
    } else if (typeof raw === 'boolean') {
      this.integer = this.number = this.datetime = false;
      this.booleanWords = true;
    } else {
      this.integer = this.number = this.boolean = false;
    }
    if (this.distinct !== null) {
      this.distinct.add(String(raw));
      this.distinctCount = this.distinct.size;
      if (this.distinct.size > this.rule.maxCategories) this.distinct = null;
    }
  }

  private addText(raw: string): void {
    const text = raw.trim();
    const lower = text.toLowerCase();
    if (this.integer && !(INTEGER.test(text) && Number.isSafeInteger(Number(text)))) this.integer = false;
    if (this.number && !NUMBER_TEXT.test(text)) this.number = false;
    if (this.number) this.range(Number(text));
    if (this.boolean) {
      if (BOOLEAN_WORDS.has(lower)) this.booleanWords = true;
      else if (!BOOLEAN_DIGITS.has(lower)) this.boolean = false;
    }
    if (this.datetime && parseIsoDatetime(text) === null) this.datetime = false;
    this.totalLength += raw.length;
    if (/\s/.test(text)) this.spaced++;
  }

  private range(value: number): void {
    if (Number.isNaN(value)) return;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  infer(): { spec: ColumnSpec; note?: string } {
    const nullable = this.missing > 0;
    if (this.present === 0)
      return { spec: { type: 'string', nullable: true }, note: 'no values in the sample' };
    // 0/1 alone reads as integer (labels, counts); words make it boolean.
    if (this.boolean && this.booleanWords) return { spec: { type: 'boolean', nullable } };
    const numeric = this.integer ? 'integer' : this.number ? 'number' : null;
    if (numeric)
      return {
        spec: { type: numeric, nullable },
        note: `observed min: ${this.min}, max: ${this.max} (to refuse values outside, declare min/max, widened for data to come)`,
      };
    if (this.datetime) return { spec: { type: 'datetime', nullable } };
    // Repetition is what makes a category: few levels, each seen many times (1 / maxShare on average);
    // a column of mostly unique values (names, ids) is not one even when the sample is small.
    const { maxCategories, maxShare } = this.rule;
    const levels = this.distinctCount;
    const seen = `${this.distinct === null ? `more than ${maxCategories}` : levels} distinct values in ${this.present} values`;
    const ruleText = `at most ${maxCategories}, and at most ${Number((maxShare * 100).toPrecision(6))} % of the values`;
    if (this.distinct !== null && levels <= this.present * maxShare)
      return {
        spec: { type: 'category', nullable, values: [...this.distinct].sort() },
        note: `category: ${seen} (${ruleText}); values outside the list are refused`,
      };
    const text = this.totalLength / this.present > TEXT_LENGTH && this.spaced * 2 > this.present;
    return {
      spec: { type: text ? 'text' : 'string', nullable },
      note: `${text ? 'text (long values with spaces)' : 'string'}, not category: ${seen} (a category has ${ruleText})`,
    };
  }
}

/**
 * A schema as a TypeScript object literal for `kiln.config.ts` (`data.schema`), one column per line,
 * each after its note (`notes`) as a comment. An unnamed column gets a comment on how to name it.
 */
export function renderSchema(
  schema: Readonly<Record<string, ColumnSpec>>,
  notes: Readonly<Record<string, string>> = {},
): string {
  const lines = ['{'];
  for (const [name, spec] of Object.entries(schema)) {
    if (name === '') lines.push(`  // unnamed column: name it with source.rename, e.g. { '': 'row_id' }`);
    if (Object.hasOwn(notes, name)) lines.push(`  // ${notes[name].replaceAll('\n', ' ')}`);
    const parts = [`type: ${tsString(spec.type)}`, `nullable: ${spec.nullable}`];
    if (spec.values) parts.push(`values: [${spec.values.map(tsString).join(', ')}]`);
    if (spec.min !== undefined) parts.push(`min: ${spec.min}`);
    if (spec.max !== undefined) parts.push(`max: ${spec.max}`);
    if (spec.description !== undefined) parts.push(`description: ${tsString(spec.description)}`);
    lines.push(`  ${tsKey(name)}: { ${parts.join(', ')} },`);
  }
  lines.push('}');
  return lines.join('\n');
}

function tsKey(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : tsString(name);
}

function tsString(value: string): string {
  const escaped = JSON.stringify(value).slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'");
  return `'${escaped}'`;
}
