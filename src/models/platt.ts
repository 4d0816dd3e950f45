/** Platt scaling: the sigmoid that turns SVM decision values into probabilities. */

/**
 * Platt's sigmoid P(positive | f) = 1 / (1 + exp(a f + b)) by Newton's method with backtracking (Lin,
 * Lin & Weng 2007, as libsvm), on Platt's smoothed targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) with
 * the prior start b = log((N- + 1) / (N+ + 1)), as scikit-learn's _sigmoid_calibration; N are summed
 * sample weights.
 */
export function fitPlattSigmoid(
  f: Float64Array,
  positive: Uint8Array,
  sampleWeight?: Float64Array,
): { a: number; b: number } {
  const n = f.length;
  let prior1 = 0;
  let prior0 = 0;
  for (let i = 0; i < n; i++) {
    const s = sampleWeight ? sampleWeight[i] : 1;
    if (positive[i]) prior1 += s;
    else prior0 += s;
  }
  const hi = (prior1 + 1) / (prior1 + 2);
  const lo = 1 / (prior0 + 2);
  // libsvm's absolute gradient tolerance, for unit weights; scaled by the mean weight otherwise.
  const eps = 1e-5 * Math.max((prior0 + prior1) / Math.max(n, 1), Number.MIN_VALUE);
  const objective = (a: number, b: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const t = positive[i] ? hi : lo;
      const z = a * f[i] + b;
      const s = sampleWeight ? sampleWeight[i] : 1;
      v += s * (z >= 0 ? t * z + Math.log1p(Math.exp(-z)) : (t - 1) * z + Math.log1p(Math.exp(z)));
    }
    return v;
  };
  let a = 0;
  let b = Math.log((prior0 + 1) / (prior1 + 1));
  let value = objective(a, b);
  for (let iteration = 0; iteration < 100; iteration++) {
    let g1 = 0;
    let g2 = 0;
    let h11 = 1e-12;
    let h22 = 1e-12;
    let h21 = 0;
    for (let i = 0; i < n; i++) {
      const z = a * f[i] + b;
      const e = Math.exp(-Math.abs(z));
      // p = 1 / (1 + exp(z)) and 1 - p, without overflow.
      const p = z >= 0 ? e / (1 + e) : 1 / (1 + e);
      const q = 1 - p;
      const s = sampleWeight ? sampleWeight[i] : 1;
      const d2 = s * p * q;
      const d1 = s * ((positive[i] ? hi : lo) - p);
      h11 += f[i] * f[i] * d2;
      h22 += d2;
      h21 += f[i] * d2;
      g1 += f[i] * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < eps && Math.abs(g2) < eps) break;
    const det = h11 * h22 - h21 * h21;
    const da = -(h22 * g1 - h21 * g2) / det;
    const db = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * da + g2 * db;
    let step = 1;
    while (step >= 1e-10) {
      const next = objective(a + step * da, b + step * db);
      if (next < value + 1e-4 * step * gd) {
        a += step * da;
        b += step * db;
        value = next;
        break;
      }
      step /= 2;
    }
    if (step < 1e-10) break;
  }
  return { a, b };
}

/** 1 / (1 + exp(a f + b)), without overflow. */
export function platt(f: number, a: number, b: number): number {
  const z = a * f + b;
  return z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
