/**
 * Do two model packages score a data file the same? For a refactoring that must not change behaviour:
 * a package trained before the change beside one trained after it, both scored here (so the
 * current code must also load the older package), value by value.
 *
 *   npx tsx scripts/compare-packages.ts --before <package> --after <package> --data <file.csv>
 *     [--tolerance 1e-9] [--reference <scores.f64>]
 *
 * Prints the rows and values compared, how many are bit-identical, the largest absolute difference
 * and whether the decided labels agree; exits 1 when a difference exceeds --tolerance (default 0:
 * bit-identical). --reference compares the before package's scores with raw float64 scores that the
 * older code wrote for the same file (row-major), to show that loading it here changes nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPackage } from '../src/packaging/load.js';
import { streamPackageInput } from '../src/scoring/package-input.js';
import { silentProgress } from '../src/util/progress.js';

interface Scored {
  scores: Float64Array;
  labels: (string | null)[];
}

async function score(dir: string, data: string, work: string): Promise<Scored> {
  const pkg = loadPackage(dir);
  const stream = streamPackageInput(pkg, data, {
    rejects: path.join(work, `${path.basename(path.dirname(dir))}.rejects.csv`),
    progress: silentProgress,
  });
  const parts: Float64Array[] = [];
  const labels: (string | null)[] = [];
  for await (const chunk of stream) {
    const scored = await pkg.score(chunk.table);
    parts.push(scored.scores);
    labels.push(...scored.labels);
  }
  const scores = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    scores.set(part, at);
    at += part.length;
  }
  return { scores, labels };
}

function compare(a: Float64Array, b: Float64Array): { identical: number; maxDiff: number } {
  if (a.length !== b.length) throw new Error(`${a.length} values against ${b.length}`);
  let identical = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i])) identical++;
    else
      maxDiff = Math.max(
        maxDiff,
        Number.isNaN(a[i]) || Number.isNaN(b[i]) ? Infinity : Math.abs(a[i] - b[i]),
      );
  }
  return { identical, maxDiff };
}

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string' },
    data: { type: 'string' },
    tolerance: { type: 'string', default: '0' },
    reference: { type: 'string' },
  },
});
if (!values.before || !values.after || !values.data) {
  process.stderr.write(
    'usage: compare-packages --before <package> --after <package> --data <file> [--tolerance x] [--reference scores.f64]\n',
  );
  process.exit(2);
}
const tolerance = Number(values.tolerance);
const work = mkdtempSync(path.join(tmpdir(), 'kiln-compare-'));
try {
  const before = await score(values.before, values.data, work);
  const after = await score(values.after, values.data, work);
  const { identical, maxDiff } = compare(before.scores, after.scores);
  const labelsAgree = before.labels.every((label, i) => label === after.labels[i]);
  const lines = [
    `data:       ${values.data}`,
    `rows:       ${before.labels.length}, values: ${before.scores.length}`,
    `identical:  ${identical} of ${before.scores.length} values bit for bit`,
    `max |diff|: ${maxDiff}`,
    `labels:     ${labelsAgree ? 'all equal' : 'DIFFER'}`,
  ];
  let failed = maxDiff > tolerance || !labelsAgree;
  if (values.reference) {
    const bytes = readFileSync(values.reference);
    const reference = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
    const old = compare(reference, before.scores);
    lines.push(
      `before as its own code scored it: ${old.identical} of ${reference.length} identical, max |diff| ${old.maxDiff}`,
    );
    failed ||= old.maxDiff > tolerance;
  }
  process.stdout.write(`${lines.join('\n')}\n${failed ? 'DIFFERENT' : 'SAME'} (tolerance ${tolerance})\n`);
  process.exitCode = failed ? 1 : 0;
} finally {
  rmSync(work, { recursive: true, force: true });
}
