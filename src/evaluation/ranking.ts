/**
 * The shared pre-pass of every ranking metric: rows sorted once by decreasing score and cut into
 * groups of tied scores. ROC AUC, average precision, curves and threshold search all walk these
 * groups, and a bootstrap replicate is the same walk with per-row resample counts as weights.
 */

export interface Ranking {
  readonly n: number;
  /** Row indices by decreasing score. */
  readonly order: Int32Array;
  /** Exclusive end position in `order` of each group of tied scores. */
  readonly groupEnds: Int32Array;
  /** The score shared by each group, decreasing. */
  readonly thresholds: Float64Array;
  /** 1 where the row is of the positive class, indexed by row (not by sorted position). */
  readonly isPositive: Uint8Array;
  /** The same flags by sorted position, as numbers so that the area passes need no branch on the label. */
  readonly positiveAt: Float64Array;
}

export function rankScores(yTrue: Int32Array, scores: ArrayLike<number>, positive: number): Ranking {
  const n = yTrue.length;
  if (scores.length !== n)
    throw new Error(`ranking needs one score per row: ${n} labels, ${scores.length} scores`);
  const order = new Int32Array(n);
  const isPositive = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (Number.isNaN(s)) throw new Error(`score of row ${i} is NaN`);
    order[i] = i;
    isPositive[i] = yTrue[i] === positive ? 1 : 0;
  }
  order.sort((a, b) => scores[b] - scores[a]);
  const ends: number[] = [];
  const thresholds: number[] = [];
  for (let p = 0; p < n; p++) {
    if (p === n - 1 || scores[order[p + 1]] !== scores[order[p]]) {
      ends.push(p + 1);
      thresholds.push(scores[order[p]]);
    }
  }
  const positiveAt = new Float64Array(n);
  for (let p = 0; p < n; p++) positiveAt[p] = isPositive[order[p]];
  return {
    n,
    order,
    groupEnds: Int32Array.from(ends),
    thresholds: Float64Array.from(thresholds),
    isPositive,
    positiveAt,
  };
}

/** Cumulative (weighted) true and false positives when predicting positive at each group's score and above. */
export interface RankCounts {
  tp: Float64Array;
  fp: Float64Array;
  /** Total weight of positive and negative rows. */
  positives: number;
  negatives: number;
}

export function rankCounts(ranking: Ranking, weights?: ArrayLike<number>): RankCounts {
  const { order, groupEnds, isPositive } = ranking;
  const groups = groupEnds.length;
  const tp = new Float64Array(groups);
  const fp = new Float64Array(groups);
  let t = 0;
  let f = 0;
  let p = 0;
  for (let g = 0; g < groups; g++) {
    const end = groupEnds[g];
    for (; p < end; p++) {
      const row = order[p];
      const w = weights === undefined ? 1 : weights[row];
      if (isPositive[row] === 1) t += w;
      else f += w;
    }
    tp[g] = t;
    fp[g] = f;
  }
  return { tp, fp, positives: t, negatives: f };
}

export interface RankAreas {
  /** NaN when the (weighted) rows hold only one of positive/negative. */
  rocAuc: number;
  /** NaN when there is no positive row. */
  averagePrecision: number;
}

/**
 * ROC AUC (trapezoids between tie groups, so a tie counts one half, as scikit-learn) and average
 * precision (scikit-learn's step sum over recall increments); `weights` are by row.
 */
export function rankAreas(ranking: Ranking, weights?: ArrayLike<number>): RankAreas {
  if (weights === undefined) return sortedRankAreas(ranking);
  const { order, n } = ranking;
  const weightsAt = new Float64Array(n);
  for (let p = 0; p < n; p++) weightsAt[p] = weights[order[p]];
  return sortedRankAreas(ranking, weightsAt);
}

/**
 * `rankAreas` with weights by sorted position (the bootstrap's layout): one sequential pass without
 * allocation, and without a branch on each row's label (labels in score order are unpredictable).
 * `averagePrecision: false` skips its division per group (NaN in its place) when only ROC AUC is needed.
 */
export function sortedRankAreas(
  ranking: Ranking,
  weightsAt?: ArrayLike<number>,
  { averagePrecision = true } = {},
): RankAreas {
  const { groupEnds, positiveAt } = ranking;
  let tp = 0;
  let fp = 0;
  let roc = 0;
  let ap = 0;
  let p = 0;
  for (let g = 0; g < groupEnds.length; g++) {
    const end = groupEnds[g];
    let dt = 0;
    let df = 0;
    for (; p < end; p++) {
      const w = weightsAt === undefined ? 1 : weightsAt[p];
      const positive = positiveAt[p];
      // Exactly w or 0 on each side, so sums equal those of a branch on the label.
      dt += w * positive;
      df += w * (1 - positive);
    }
    roc += df * (tp + tp + dt) * 0.5;
    tp += dt;
    fp += df;
    // A group without positives adds nothing; the guard only keeps 0/0 out while no weight is seen.
    if (averagePrecision && tp > 0) ap += (dt * tp) / (tp + fp);
  }
  return {
    rocAuc: tp > 0 && fp > 0 ? roc / (tp * fp) : Number.NaN,
    averagePrecision: averagePrecision && tp > 0 ? ap / tp : Number.NaN,
  };
}
