import type { FeatureStepConfig, SearchConfig } from '../config/schema.js';
import { parseStepConfig } from '../features/steps/registry.js';
import { Random } from '../util/random.js';

/** One point of a search: the model parameters and the feature steps it is fitted with. */
export interface Candidate {
  params: Record<string, unknown>;
  features: readonly FeatureStepConfig[];
  /** What this candidate sets, keyed as in `search.space` (model params by name, `features.<i>.<field>`). */
  settings: Record<string, unknown>;
}

const FEATURE_KEY = /^features\.(\d+)\.([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * The candidates a search evaluates, each merged over the base parameters and feature steps.
 * Grid: every combination of listed values. Random: `trials` seeded draws (lists uniformly,
 * ranges uniformly or log-uniformly). Without a search: the base alone.
 */
export function searchCandidates(
  base: { params: Record<string, unknown>; features: readonly FeatureStepConfig[] },
  search: SearchConfig | undefined,
  seed: number,
): Candidate[] {
  if (!search) return [{ params: { ...base.params }, features: base.features, settings: {} }];
  const names = Object.keys(search.space);
  for (const name of names) checkFeatureKey(name, base.features);
  const settings =
    search.strategy === 'grid' ? gridSettings(search, names) : randomSettings(search, names, seed);
  return settings.map((s) => applySettings(base, s));
}

function gridSettings(search: SearchConfig, names: string[]): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const name of names) {
    const values = search.space[name];
    if (!Array.isArray(values)) {
      throw new Error(
        `model.search.space.${name}: grid search needs a list of values, got a range (use strategy "random" for ranges)`,
      );
    }
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [name]: value })));
  }
  return combos;
}

function randomSettings(search: SearchConfig, names: string[], seed: number): Record<string, unknown>[] {
  const rng = new Random(seed).fork(7919);
  const out: Record<string, unknown>[] = [];
  for (let t = 0; t < search.trials; t++) {
    const draw: Record<string, unknown> = {};
    for (const name of names) {
      const values = search.space[name];
      if (Array.isArray(values)) {
        draw[name] = values[rng.int(values.length)];
        continue;
      }
      const { min, max, log, integer } = values;
      if (!(max > min) || (log && min <= 0)) {
        throw new Error(
          `model.search.space.${name}: need min < max${log ? ' and min > 0 for a log range' : ''}`,
        );
      }
      const u = rng.next();
      let value = log ? Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min))) : min + u * (max - min);
      if (integer) value = Math.round(value);
      draw[name] = value;
    }
    out.push(draw);
  }
  return out;
}

function checkFeatureKey(name: string, features: readonly FeatureStepConfig[]): void {
  if (!name.startsWith('features.')) return;
  const match = FEATURE_KEY.exec(name);
  if (!match)
    throw new Error(`model.search.space.${name}: a feature setting is "features.<step index>.<field>"`);
  const index = Number(match[1]);
  if (index >= features.length)
    throw new Error(
      `model.search.space.${name}: there is no feature step ${index} (the project has ${features.length}, numbered from 0)`,
    );
  if (match[2] === 'step')
    throw new Error(`model.search.space.${name}: the kind of a step cannot be searched`);
}

/** The candidate for one set of settings; each changed feature step is validated as a whole. */
function applySettings(
  base: { params: Record<string, unknown>; features: readonly FeatureStepConfig[] },
  settings: Record<string, unknown>,
): Candidate {
  const params = { ...base.params };
  const features = [...base.features];
  const changedSteps = new Set<number>();
  for (const [name, value] of Object.entries(settings)) {
    const match = FEATURE_KEY.exec(name);
    if (!match) {
      params[name] = value;
      continue;
    }
    const index = Number(match[1]);
    features[index] = { ...features[index], [match[2]]: value } as FeatureStepConfig;
    changedSteps.add(index);
  }
  for (const index of changedSteps) {
    try {
      features[index] = parseStepConfig(features[index]);
    } catch (error) {
      throw new Error(
        `model.search.space: feature step ${index} with ${JSON.stringify(settings)} is invalid: ${(error as Error).message}`,
      );
    }
  }
  return { params, features, settings };
}
