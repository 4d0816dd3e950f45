import { describe, expect, it } from 'vitest';
import { type FeatureStepConfig, searchSchema } from '../../src/config/schema.js';
import { parseStepConfig } from '../../src/features/steps/registry.js';
import { searchCandidates } from '../../src/training/search.js';

const features: FeatureStepConfig[] = [
  parseStepConfig({ step: 'tfidf', column: 'q', analyzer: 'word', ngramRange: [1, 1] }),
  parseStepConfig({ step: 'tfidf', column: 'q', analyzer: 'char_wb', ngramRange: [2, 4] }),
];
const base = { params: { C: 1, classWeight: null }, features };

describe('searchCandidates', () => {
  it('grids over model params and feature fields, changing only the named step', () => {
    const search = searchSchema.parse({
      space: {
        C: [0.1, 1],
        'features.0.ngramRange': [
          [1, 1],
          [1, 2],
        ],
        classWeight: [null, 'balanced'],
      },
    });
    const candidates = searchCandidates(base, search, 0);
    expect(candidates).toHaveLength(8);
    const pick = candidates.find(
      (c) => c.params.C === 0.1 && c.params.classWeight === 'balanced' && c.features[0].step === 'tfidf',
    );
    expect(pick).toBeDefined();
    const settings = candidates.map((c) => JSON.stringify(c.settings));
    expect(new Set(settings).size).toBe(8);
    for (const c of candidates) {
      expect(c.features[1]).toBe(features[1]);
      expect(c.features[0]).toMatchObject({
        analyzer: 'word',
        ngramRange: c.settings['features.0.ngramRange'],
      });
      expect(c.params).not.toHaveProperty('features.0.ngramRange');
    }
    // The project's own steps are never mutated.
    expect(features[0]).toMatchObject({ ngramRange: [1, 1] });
  });

  it('draws the same random candidates for the same seed, others for another', () => {
    const search = searchSchema.parse({
      strategy: 'random',
      trials: 6,
      space: { C: { min: 0.01, max: 10, log: true }, 'features.1.minDf': [1, 2, 3] },
    });
    const a = searchCandidates(base, search, 0).map((c) => c.settings);
    expect(searchCandidates(base, search, 0).map((c) => c.settings)).toEqual(a);
    expect(searchCandidates(base, search, 1).map((c) => c.settings)).not.toEqual(a);
    for (const s of a) {
      expect(s.C).toBeGreaterThanOrEqual(0.01);
      expect(s.C).toBeLessThanOrEqual(10);
      expect([1, 2, 3]).toContain(s['features.1.minDf']);
    }
  });

  it('names the problem with a feature setting', () => {
    const run = (space: Record<string, unknown>) => searchCandidates(base, searchSchema.parse({ space }), 0);
    expect(() => run({ 'features.2.minDf': [1] })).toThrow(/no feature step 2 \(the project has 2/);
    expect(() => run({ 'features.x.minDf': [1] })).toThrow(/"features.<step index>.<field>"/);
    expect(() => run({ 'features.0.step': ['drop'] })).toThrow(/kind of a step cannot be searched/);
    expect(() => run({ 'features.0.nGram': [1] })).toThrow(/feature step 0 .* is invalid/);
    expect(() => run({ 'features.0.ngramRange': [[3, 1]] })).toThrow(/ngramRange is \[min n, max n\]/);
  });

  it('refuses a range in a grid', () => {
    expect(() =>
      searchCandidates(base, searchSchema.parse({ space: { C: { min: 0.1, max: 1 } } }), 0),
    ).toThrow(/grid search needs a list of values/);
  });
});
