import path from 'node:path';
import { type DataReport, loadTable } from '../../data/load.js';
import type { Table } from '../../data/table.js';
import type { DataFingerprint } from '../../stores/metadata/index.js';
import { dataFingerprint } from '../manifest.js';
import type { RunContext } from '../stage.js';

export interface LoadedData {
  table: Table;
  report: DataReport;
  /** `data.test`: a separate labelled file, scored once by the final model. */
  test?: { table: Table; report: DataReport };
  /** What the run records about each file read. */
  fingerprints: DataFingerprint[];
}

/**
 * Reads the training file (and its joins, and the test file), checking every row against the schema:
 * rows that do not fit (or that are not well-formed CSV) are quarantined with a reason, or fail the run
 * listing them all (`onInvalid: fail`); `data.maxRejectedFraction` caps the share quarantined. Each
 * file's report (rows read, accepted, rejected, the rejects file) reaches the run's report.
 */
export async function load(context: RunContext, _input: undefined): Promise<LoadedData> {
  const { project, dir, runDir, progress } = context;
  progress.stage('load', { source: project.data.source.path });
  const { table, report } = await loadTable(project.data, {
    baseDir: dir,
    requiredNonNull: [project.target.column],
    rejectsPath: path.join(runDir, 'rejects.csv'),
    onProgress: (rows) => progress.tick('rows', rows),
  });
  progress.info(
    `read ${report.rowsRead} rows: ${report.rowsAccepted} accepted, ${report.rowsRejected} rejected`,
    report.rejectsPath ? { rejects: report.rejectsPath } : undefined,
  );
  const fingerprints = [
    dataFingerprint('train', report),
    ...report.joined.map((file) => ({
      role: 'train (joined)',
      path: file.path,
      sha256: file.fingerprint.sha256,
      bytes: file.fingerprint.sizeBytes,
      rowsRead: file.rowsRead,
      rowsAccepted: file.rowsRead,
      rowsRejected: 0,
    })),
  ];
  if (!project.data.test) return { table, report, fingerprints };
  const test = await loadTable(
    { ...project.data, source: project.data.test },
    {
      baseDir: dir,
      requiredNonNull: [project.target.column],
      rejectsPath: path.join(runDir, 'test-rejects.csv'),
    },
  );
  progress.info(
    `read ${test.report.rowsRead} test rows: ${test.report.rowsAccepted} accepted, ${test.report.rowsRejected} rejected`,
    test.report.rejectsPath ? { rejects: test.report.rejectsPath } : undefined,
  );
  fingerprints.push(dataFingerprint('test', test.report));
  return { table, report, test, fingerprints };
}
