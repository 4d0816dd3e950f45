import { describe, expect, it } from 'vitest';
import { decide, decideAll, decisionRule } from '../../src/tasks/index.js';

describe('decisionRule', () => {
  it('is a threshold rule for a positive class of two, 0.5 by default; argmax otherwise', () => {
    expect(decisionRule(2, 1)).toEqual({ kind: 'threshold', positive: 1, threshold: 0.5 });
    expect(decisionRule(2, 0, 0.3)).toEqual({ kind: 'threshold', positive: 0, threshold: 0.3 });
    expect(decisionRule(2)).toEqual({ kind: 'argmax', classes: 2 });
    expect(decisionRule(2, -1, 0.9)).toEqual({ kind: 'argmax', classes: 2 });
    expect(decisionRule(5)).toEqual({ kind: 'argmax', classes: 5 });
  });

  it('refuses fewer than two classes, a positive class among more than two, and a non-finite threshold', () => {
    expect(() => decisionRule(1)).toThrow(/at least 2 classes, got 1/);
    expect(() => decisionRule(3, 1)).toThrow(/positive class \(index 1\) needs exactly 2 classes, got 3/);
    expect(() => decisionRule(2, 2)).toThrow(/positive class \(index 2\) needs exactly 2 classes/);
    expect(() => decisionRule(2, 1, Number.NaN)).toThrow(/threshold must be a finite number, got NaN/);
    expect(() => decisionRule(2, 1, Number.POSITIVE_INFINITY)).toThrow(/threshold must be a finite number/);
  });
});

describe('decide', () => {
  it('threshold rule: the positive class when its probability is at or above the threshold', () => {
    const rule = decisionRule(2, 1, 0.6);
    expect(decide([0.4, 0.6], 0, rule)).toBe(1); // a tie at the threshold is positive (>=)
    expect(decide([0.39, 0.61], 0, rule)).toBe(1);
    expect(decide([0.41, 0.59], 0, rule)).toBe(0);
    // Only the positive column is read, whatever the other says.
    expect(decide([0.9, 0.6], 0, rule)).toBe(1);
    expect(decide([0, 0.5999999999999999], 0, rule)).toBe(0);
  });

  it('threshold rule with the first class positive', () => {
    const rule = decisionRule(2, 0, 0.25);
    expect(decide([0.25, 0.75], 0, rule)).toBe(0);
    expect(decide([0.2, 0.8], 0, rule)).toBe(1);
  });

  it('threshold rule reads the row at the offset', () => {
    const rule = decisionRule(2, 1);
    const scores = [0.9, 0.1, 0.5, 0.5, 0.51, 0.49];
    expect(decide(scores, 0, rule)).toBe(0);
    expect(decide(scores, 2, rule)).toBe(1);
    expect(decide(scores, 4, rule)).toBe(0);
  });

  it('argmax takes the first class with the highest score on ties, as numpy', () => {
    const rule = decisionRule(3);
    expect(decide([0.2, 0.5, 0.3], 0, rule)).toBe(1);
    expect(decide([0.4, 0.4, 0.2], 0, rule)).toBe(0);
    expect(decide([0.2, 0.4, 0.4], 0, rule)).toBe(1);
    expect(decide([0.3, 0.3, 0.4], 0, rule)).toBe(2);
    expect(decide([1 / 3, 1 / 3, 1 / 3], 0, rule)).toBe(0);
    expect(decide([0, 0, 0, 0.1, 0.1, 0.8], 3, rule)).toBe(2);
  });

  it('a binary model without a positive class decides by argmax, the first class on a tie', () => {
    const rule = decisionRule(2);
    expect(decide([0.5, 0.5], 0, rule)).toBe(0);
    expect(decide([0.49, 0.51], 0, rule)).toBe(1);
  });

  it('decideAll decides every row', () => {
    expect(Array.from(decideAll([0.2, 0.8, 0.5, 0.5, 0.7, 0.3], 3, decisionRule(2, 1, 0.5)))).toEqual([
      1, 1, 0,
    ]);
    expect(Array.from(decideAll([0.1, 0.1, 0.8, 0.4, 0.4, 0.2], 2, decisionRule(3)))).toEqual([2, 0]);
    expect(decideAll([], 0, decisionRule(3))).toEqual(new Int32Array(0));
  });
});
