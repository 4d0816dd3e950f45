/**
 * The one rule that turns scores into labels, used by training, evaluation, packages and the server:
 * binary models with a positive class compare its probability with the threshold (>=); every other
 * classifier takes the first class with the highest score (numpy's argmax).
 */

export type DecisionRule =
  | { readonly kind: 'threshold'; readonly positive: 0 | 1; readonly threshold: number }
  | { readonly kind: 'argmax'; readonly classes: number };

/** The rule for `classes` scores per row; a positive class index makes it a threshold rule (two classes). */
export function decisionRule(classes: number, positive?: number, threshold?: number): DecisionRule {
  if (classes < 2) throw new Error(`a decision needs at least 2 classes, got ${classes}`);
  if (positive === undefined || positive < 0) return { kind: 'argmax', classes };
  if (classes !== 2 || (positive !== 0 && positive !== 1))
    throw new Error(`a positive class (index ${positive}) needs exactly 2 classes, got ${classes}`);
  const t = threshold ?? 0.5;
  if (!Number.isFinite(t)) throw new Error(`threshold must be a finite number, got ${t}`);
  return { kind: 'threshold', positive, threshold: t };
}

/** The class index chosen for the score row starting at `offset`. */
export function decide(scores: ArrayLike<number>, offset: number, rule: DecisionRule): number {
  if (rule.kind === 'threshold')
    return scores[offset + rule.positive] >= rule.threshold ? rule.positive : 1 - rule.positive;
  let best = 0;
  for (let c = 1; c < rule.classes; c++) if (scores[offset + c] > scores[offset + best]) best = c;
  return best;
}

/** `decide` for each of the `rows` score rows. */
export function decideAll(scores: ArrayLike<number>, rows: number, rule: DecisionRule): Int32Array {
  const width = rule.kind === 'threshold' ? 2 : rule.classes;
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = decide(scores, i * width, rule);
  return out;
}
