/** The data layer: declared sources read, validated and fingerprinted; schema inference; splits. */
export { type CellValue, type Coercer, cellText, coercer, Invalid, parseIsoDatetime } from './coerce.js';
export {
  DataError,
  type DataErrorDetails,
  DataValidationError,
  type LocationUnit,
  MAX_LISTED_PROBLEMS,
  type RejectedRow,
  RejectedShareError,
} from './errors.js';
export { type Fingerprint, FingerprintBuilder, fingerprintFile } from './fingerprint.js';
export { type InferOptions, inferSchema, renderSchema } from './infer.js';
export {
  type DataInput,
  type DataReport,
  DEFAULT_CHUNK_ROWS,
  type LoadOptions,
  loadTable,
  streamTable,
  type TableChunk,
  type TableStream,
} from './load.js';
export { openSource } from './open.js';
export type { DataFormat, RawBatch, RawSource, RawValue } from './source.js';
export { resolveSourcePath, sourceDelimiter, sourceFormat } from './source.js';
export {
  type Fold,
  type Holdout,
  holdoutSplit,
  kFoldSplit,
  type SplitOptions,
  type SplitStrategy,
  splitFromConfig,
} from './split.js';
export * from './table.js';
