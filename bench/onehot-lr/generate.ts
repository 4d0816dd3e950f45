/**
 * A seeded credit file of the shape issue 11 (item 17) reported: 10,000 loans, 17 numeric columns
 * (several nearly collinear, as a loan's amount, funded amount and instalment are), 5 categorical ones
 * (86 levels between them: 103 features after one-hot), about 5 % defaults. The default is drawn from
 * a logistic model of grade, interest rate, FICO score, income, debt-to-income, utilisation and enquiries,
 * with small effects of purpose, state, employment length and home ownership.
 *
 *   npx tsx bench/onehot-lr/generate.ts [out.csv] [--rows 10000] [--seed 0]
 *
 * The same seed and row count always write the same bytes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Random } from '../../src/util/random.js';

export const STATES = (
  'CA TX NY FL IL NJ PA OH GA VA NC MI MD AZ MA CO WA MN IN MO TN CT NV WI AL SC OR LA KY OK KS UT AR ' +
  'NM HI MS NH RI WV MT DE DC AK WY SD VT NE ME ID ND'
).split(' ');
export const PURPOSES = [
  'debt_consolidation',
  'credit_card',
  'home_improvement',
  'other',
  'major_purchase',
  'medical',
  'small_business',
  'car',
  'vacation',
  'moving',
  'house',
  'wedding',
  'renewable_energy',
  'educational',
];
export const EMPLOYMENT = [
  '< 1 year',
  ...Array.from({ length: 9 }, (_, k) => `${k + 1} year${k ? 's' : ''}`),
  '10+ years',
];
export const GRADES = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];
export const HOMES = ['MORTGAGE', 'RENT', 'OWN', 'OTHER'];
export const NUMERIC = [
  'loan_amnt',
  'funded_amnt',
  'funded_amnt_inv',
  'int_rate',
  'installment',
  'annual_inc',
  'dti',
  'delinq_2yrs',
  'fico_range_low',
  'fico_range_high',
  'inq_last_6mths',
  'open_acc',
  'pub_rec',
  'revol_bal',
  'revol_util',
  'total_acc',
  'mort_acc',
];
export const CATEGORICAL = ['addr_state', 'purpose', 'emp_length', 'grade', 'home_ownership'];
export const TARGET = 'defaulted';

/** Index drawn with probability proportional to `weights`. */
function pick(rng: Random, weights: readonly number[], total: number): number {
  let u = rng.next() * total;
  for (let k = 0; k < weights.length - 1; k++) {
    u -= weights[k];
    if (u < 0) return k;
  }
  return weights.length - 1;
}

function poisson(rng: Random, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

export function generateCredit(rows: number, seed: number): string {
  const rng = new Random(seed);
  // State sizes fall off like a Zipf law (CA about 11 %, ND a handful of loans): rare dummies, as real data has.
  const stateWeights = STATES.map((_, k) => 1 / (k + 1) ** 1.1);
  const stateTotal = stateWeights.reduce((a, b) => a + b, 0);
  const stateEffect = STATES.map(() => 0.25 * rng.normal());
  const purposeWeights = [50, 22, 7, 6, 3, 2, 2, 2, 1, 1, 1, 0.8, 0.3, 0.2];
  const purposeTotal = purposeWeights.reduce((a, b) => a + b, 0);
  const purposeEffect = [0, -0.15, -0.05, 0.1, 0, 0.15, 0.45, -0.1, 0, 0.2, 0.1, -0.1, 0.2, 0.3];
  const employmentWeights = [8, 7, 9, 8, 6, 6, 5, 4, 4, 4, 33];
  const employmentEffect = [0.15, 0.1, 0.05, 0.05, 0, 0, 0, -0.05, -0.05, -0.05, -0.1];
  const gradeWeights = [17, 29, 28, 15, 7, 3, 1];
  const gradeEffect = [-1.1, -0.45, 0, 0.35, 0.65, 0.9, 1.1];
  const homeWeights = [49, 40, 10, 1];
  const homeEffect = [-0.1, 0.1, 0, 0.3];

  const columns = [...NUMERIC, ...CATEGORICAL];
  const records: { values: (string | number)[]; logit: number }[] = [];
  for (let i = 0; i < rows; i++) {
    const grade = pick(rng, gradeWeights, 100);
    const term = rng.next() < 0.75 ? 36 : 60;
    const intRate = 6 + 3.2 * grade + 1.2 * rng.normal() + (term === 60 ? 1.5 : 0);
    const loan = Math.round(Math.min(40_000, Math.max(1_000, Math.exp(9.3 + 0.6 * rng.normal()))) / 25) * 25;
    const funded = loan - (rng.next() < 0.05 ? 25 * rng.int(20) : 0);
    const fundedInv = Math.max(0, funded - (rng.next() < 0.2 ? 25 * rng.int(40) : 0));
    const monthly = intRate / 1200;
    const installment = (funded * monthly) / (1 - (1 + monthly) ** -term);
    const income = Math.exp(11 + 0.55 * rng.normal());
    const dti = Math.max(0, Math.min(45, 18 + 8 * rng.normal()));
    const ficoLow = Math.max(660, Math.min(845, Math.round((735 - 12 * grade + 28 * rng.normal()) / 5) * 5));
    const inquiries = poisson(rng, 0.6 + 0.15 * grade);
    const openAcc = 3 + poisson(rng, 8);
    const totalAcc = openAcc + poisson(rng, 14);
    const revolBal = Math.round(Math.exp(9.4 + 0.9 * rng.normal()));
    const revolUtil = Math.max(0, Math.min(120, 52 + 24 * rng.normal() + 2 * grade));
    const delinq = rng.next() < 0.18 ? 1 + poisson(rng, 0.4) : 0;
    const pubRec = rng.next() < 0.15 ? 1 + poisson(rng, 0.2) : 0;
    const home = pick(rng, homeWeights, 100);
    const mortAcc = home === 0 ? 1 + poisson(rng, 1.5) : poisson(rng, 0.3);
    const state = pick(rng, stateWeights, stateTotal);
    const purpose = pick(rng, purposeWeights, purposeTotal);
    const employment = pick(rng, employmentWeights, 100);
    const logit =
      gradeEffect[grade] +
      0.06 * (intRate - 14) -
      0.008 * (ficoLow - 700) -
      0.35 * (Math.log(income) - 11) +
      0.015 * (dti - 18) +
      0.004 * (revolUtil - 52) +
      0.12 * inquiries +
      0.08 * delinq +
      0.1 * pubRec -
      0.05 * mortAcc +
      0.00002 * (installment - 450) +
      stateEffect[state] +
      purposeEffect[purpose] +
      employmentEffect[employment] +
      homeEffect[home];
    const values = [
      loan,
      funded,
      fundedInv,
      intRate.toFixed(2),
      installment.toFixed(2),
      income.toFixed(0),
      dti.toFixed(2),
      delinq,
      ficoLow,
      ficoLow + 4,
      inquiries,
      openAcc,
      pubRec,
      revolBal,
      revolUtil.toFixed(1),
      totalAcc,
      mortAcc,
      STATES[state],
      PURPOSES[purpose],
      EMPLOYMENT[employment],
      GRADES[grade],
      HOMES[home],
    ];
    records.push({ values, logit });
  }
  // The intercept that makes the expected default rate 5 %, by bisection, then the defaults drawn.
  const rate = (b: number) => records.reduce((s, r) => s + 1 / (1 + Math.exp(-(r.logit + b))), 0) / rows;
  let lo = -10;
  let hi = 5;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (rate(mid) < 0.05) lo = mid;
    else hi = mid;
  }
  const lines = [[...columns, TARGET].join(',')];
  for (const r of records) {
    const defaulted = rng.next() < 1 / (1 + Math.exp(-(r.logit + lo))) ? 1 : 0;
    lines.push(
      [...r.values.map((v) => (typeof v === 'string' && v.includes(' ') ? `"${v}"` : v)), defaulted].join(
        ',',
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { rows: { type: 'string', default: '10000' }, seed: { type: 'string', default: '0' } },
  });
  const here = path.dirname(fileURLToPath(import.meta.url));
  const out = path.resolve(positionals[0] ?? path.join(here, '..', 'results', 'onehot-lr', 'credit.csv'));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, generateCredit(Number(values.rows), Number(values.seed)));
  console.log(out);
}
