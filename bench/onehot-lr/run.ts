/**
 * Issue 11, item 17: balanced logistic regression on a one-hot-heavy credit file (generate.ts: 10,000
 * rows, 17 numeric and 5 categorical columns, 103 features after one-hot, 5 % positives), Kiln against
 * scikit-learn (sklearn_peer.py) on the same 5 stratified folds.
 *
 *   npm run build && npx tsx bench/onehot-lr/run.ts [--repeats 5]
 *
 * Each repeat runs, as fresh processes and alternating: Kiln through its library (kiln-side.ts, on the
 * compiled modules in dist/, as `kiln train` runs), scikit-learn with its default solver (lbfgs) and
 * with newton-cholesky, and `kiln train bench/onehot-lr` (the whole run: validation, CV, bootstrap
 * interval, final fit, package, report, run record). Timed inside the processes, on both sides: the 5-fold CV (per fold: the
 * preprocessing fitted on the training rows, the model fitted, the validation rows transformed and
 * scored) and the final fit on every row (preprocessing and model). Not timed there: start-up, imports,
 * reading the CSV (Kiln also validates it). The whole-process times include everything.
 *
 * The folds are Kiln's (src/data/split.ts, stratified, seed 0, as `kiln train` draws them): the Kiln
 * side writes each row's validation fold to folds.json and the peer reads it, so the ROC AUCs compare
 * the same models on the same rows. Prints medians, the ratio to scikit-learn's default, the mean fold
 * ROC AUCs and the issue's verdict (Kiln's CV at most scikit-learn's time, ROC AUC equal to 1e-3).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCredit } from './generate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(here, '..', '..');
const work = path.join(repoDir, 'bench', 'results', 'onehot-lr');
const data = path.join(work, 'credit.csv');
const foldsFile = path.join(work, 'folds.json');

const { values: flags } = parseArgs({ options: { repeats: { type: 'string', default: '5' } } });

interface Outcome {
  /** Seconds of the 5-fold CV and of the final fit, timed inside the process (NaN: not reported). */
  cv: number;
  fit: number;
  /** The whole process, from the outside. */
  total: number;
  auc: number;
  iterations: string;
}

/** Both sides print the same JSON summary; only their iteration counts differ in form. */
function outcome(
  seconds: number,
  out: { cv_s: number; final_fit_s: number; roc_auc_mean: number },
  iterations: string,
): Outcome {
  return { cv: out.cv_s, fit: out.final_fit_s, total: seconds, auc: out.roc_auc_mean, iterations };
}

function timed(command: string, args: string[]): { seconds: number; stdout: string } {
  const started = process.hrtime.bigint();
  const stdout = execFileSync(command, args, {
    cwd: repoDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
  }).toString();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout };
}

const sklearn = (solver: string) => (): Outcome => {
  const run = timed('/usr/bin/python3', [
    '-W',
    'ignore',
    path.join(here, 'sklearn_peer.py'),
    data,
    foldsFile,
    solver,
  ]);
  const out = JSON.parse(run.stdout);
  return outcome(run.seconds, out, (out.iterations as number[]).join(' '));
};

const kilnLibrary = (): Outcome => {
  const run = timed(process.execPath, ['--import', 'tsx', path.join(here, 'kiln-side.ts'), foldsFile]);
  const out = JSON.parse(run.stdout);
  return outcome(run.seconds, out, out.iterations);
};

const kilnTrain = (): Outcome => {
  const run = timed(process.execPath, [
    path.join(repoDir, 'dist', 'cli', 'bin.js'),
    '--quiet',
    'train',
    here,
  ]);
  // The fold mean of the summary's headline row, as bench/toon-train.ts reads it.
  const auc = Number(/roc_auc \*\s+\S+\s+(\S+)/.exec(run.stdout)?.[1]);
  return { cv: Number.NaN, fit: Number.NaN, total: run.seconds, auc, iterations: '' };
};

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true });
  if (!existsSync(data)) writeFileSync(data, generateCredit(10_000, 0));
  if (!existsSync(path.join(repoDir, 'dist', 'cli', 'bin.js'))) throw new Error('run npm run build first');
  const repeats = Number(flags.repeats);
  // The Kiln side writes the folds the peers read: it goes first.
  const contenders = [
    { name: 'kiln (library)', run: kilnLibrary },
    { name: 'scikit-learn lbfgs', run: sklearn('lbfgs') },
    { name: 'scikit-learn newton-cholesky', run: sklearn('newton-cholesky') },
    { name: 'kiln train (whole run)', run: kilnTrain },
  ];
  const outcomes = contenders.map(() => [] as Outcome[]);
  for (let r = 0; r < repeats; r++) {
    contenders.forEach((contender, c) => {
      const outcome = contender.run();
      outcomes[c].push(outcome);
      process.stderr.write(
        `repeat ${r + 1}/${repeats}: ${contender.name} cv ${outcome.cv.toFixed(3)} s, fit ${outcome.fit.toFixed(3)} s, process ${outcome.total.toFixed(2)} s\n`,
      );
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = outcomes.map((o) => ({
    cv: median(o.map((x) => x.cv)),
    fit: median(o.map((x) => x.fit)),
    total: median(o.map((x) => x.total)),
    auc: o[0].auc,
    iterations: o[0].iterations,
  }));
  const peer = summary[1];
  const s = (v: number) => (Number.isNaN(v) ? '     -' : v.toFixed(3).padStart(6));
  console.log(`one-hot credit file, 10,000 rows, 103 features: medians of ${repeats} fresh processes each`);
  console.log(`${'side'.padEnd(29)}  5-fold CV s  final fit s  process s  CV ROC AUC  iterations`);
  contenders.forEach((contender, c) => {
    const x = summary[c];
    console.log(
      `${contender.name.padEnd(29)}  ${s(x.cv)} ${Number.isNaN(x.cv) ? '     ' : `${(x.cv / peer.cv).toFixed(2)}x`}  ${s(x.fit)}       ${x.total.toFixed(2).padStart(6)}  ${x.auc.toFixed(4).padStart(10)}  ${x.iterations}`,
    );
  });
  const kiln = summary[0];
  const aucGap = Math.abs(kiln.auc - peer.auc);
  const pass = kiln.cv <= peer.cv && aucGap <= 1e-3;
  console.log(
    `issue 11 item 17 (Kiln's CV at most scikit-learn's, ROC AUC within 1e-3): CV ${(kiln.cv / peer.cv).toFixed(2)}x, |ΔAUC| ${aucGap.toExponential(1)}: ${pass ? 'pass' : 'FAIL'}`,
  );
}

await main();
