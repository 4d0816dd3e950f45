/**
 * Training speed on toon-propensity: `kiln train` (5-fold stratified CV + final fit, plus what Kiln
 * always does: schema validation, fingerprint, bootstrap interval, package, report, run record) against
 * the same pipeline in scikit-learn (bench/peers/toon_sklearn.py). Each run is a fresh process; the
 * contenders alternate; medians are reported with the ratio to scikit-learn.
 *
 *   npm run build && npx tsx bench/toon-train.ts [repeats]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const data = path.resolve(here, '..', '..', 'shared', 'datasets', 'toon-propensity', 'data_set.csv');
if (!existsSync(data)) throw new Error(`needs ${data}`);
const repeats = Number(process.argv[2] ?? 5);

interface Outcome {
  seconds: number;
  auc: string;
}

function timed(command: string, args: string[]): { seconds: number; stdout: string } {
  const started = process.hrtime.bigint();
  const stdout = execFileSync(command, args, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout };
}

const kiln = (project: string) => (): Outcome => {
  const run = timed('node', [path.join(here, '..', 'dist', 'cli', 'bin.js'), '--quiet', 'train', project]);
  return { seconds: run.seconds, auc: /roc_auc \*\s+\S+\s+(\S+)/.exec(run.stdout)?.[1] ?? '?' };
};

const sklearn = (): Outcome => {
  const run = timed('/usr/bin/python3', [
    '-W',
    'ignore',
    path.join(here, 'peers', 'toon_sklearn.py'),
    data,
    '0',
  ]);
  return {
    seconds: run.seconds,
    auc: (JSON.parse(run.stdout) as { roc_auc_mean: number }).roc_auc_mean.toFixed(4),
  };
};

const contenders = [
  { name: 'scikit-learn 1.2 (Debian)', run: sklearn },
  { name: "kiln, scikit-learn's L-BFGS", run: kiln('toon') },
  { name: 'kiln, defaults', run: kiln('toon-tight') },
];
const seconds = contenders.map(() => [] as number[]);
const aucs = contenders.map(() => '');
for (let r = 0; r < repeats; r++) {
  contenders.forEach((contender, c) => {
    const outcome = contender.run();
    seconds[c].push(outcome.seconds);
    aucs[c] = outcome.auc;
    process.stderr.write(`repeat ${r + 1}/${repeats}: ${contender.name} ${outcome.seconds.toFixed(2)} s\n`);
  });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peer = median(seconds[0]);
console.log(
  `toon-propensity, 20,000 rows: 5-fold stratified CV + final fit, fresh process, median of ${repeats}`,
);
contenders.forEach((contender, c) => {
  const s = median(seconds[c]);
  console.log(
    `${contender.name.padEnd(28)} ${s.toFixed(2).padStart(6)} s  ${(s / peer).toFixed(2)}x  CV ROC AUC ${aucs[c]}`,
  );
});
const defaults = median(seconds[2]) / peer;
console.log(
  `issue 11 (kiln with its defaults at most 1x scikit-learn): ${defaults.toFixed(2)}x: ${defaults <= 1 ? 'pass' : 'FAIL'}`,
);
