import { ConfigError, type LoadedProject } from '../config/load.js';
import { parseGate } from '../evaluation/index.js';
import { checkFeatureSteps } from '../features/pipeline.js';
import { getModelFamily, modelFamilyNames } from '../models/registry.js';
import { searchCandidates } from './search.js';
import { isMetricOf, possibleTasks } from './stages/validate.js';

/**
 * Checks what the config schema alone cannot (the model family's own parameters, its tasks and
 * capabilities, the search space, feature steps by their kinds' schemas, metric names in the headline
 * and gates, column references) before any data is read or a run is recorded.
 */
export function checkProject({ project, configFile }: LoadedProject): void {
  const issues: string[] = [];
  const { schema } = project.data;
  const column = (where: string, name: string | undefined) => {
    if (name !== undefined && !Object.hasOwn(schema, name))
      issues.push(`${where}: "${name}" is not a column of data.schema`);
  };
  column('target.column', project.target.column);
  column('data.id', project.data.id);
  column('split.column', project.split.column);
  column('data.weight', project.data.weight);
  if ((project.split.strategy === 'group' || project.split.strategy === 'time') && !project.split.column) {
    issues.push(`split.column: required by the "${project.split.strategy}" strategy`);
  }
  if (project.data.test && project.split.testFraction > 0)
    issues.push('split.testFraction: a test file is configured (data.test); hold out one or the other');
  if (!modelFamilyNames().includes(project.model.family)) {
    issues.push(
      `model.family: unknown model family "${project.model.family}"; registered: ${modelFamilyNames().join(', ')}`,
    );
  } else {
    const family = getModelFamily(project.model.family);
    if (project.task && !family.tasks.includes(project.task))
      issues.push(`task: model family ${family.name} solves ${family.tasks.join(', ')}, not ${project.task}`);
    if (project.data.weight && !family.capabilities.sampleWeights)
      issues.push(`data.weight: model family ${family.name} does not take sample weights`);
    if (project.model.threads !== undefined && !family.capabilities.threads)
      issues.push(`model.threads: model family ${family.name} fits on one thread; remove the setting`);
    const tasks = possibleTasks(project, family);
    const { headline } = project.evaluation;
    if (headline !== undefined && !isMetricOf(headline, tasks))
      issues.push(`evaluation.headline: "${headline}" is not a metric of ${tasks.join(' or ')} models`);
    for (const [i, gate] of project.gates.entries()) {
      const metric = parseGate(gate).metric;
      if (!isMetricOf(metric, tasks))
        issues.push(`gates.${i}: "${metric}" is not a metric of ${tasks.join(' or ')} models`);
    }
    const report = (prefix: string, params: unknown) => {
      const parsed = family.params.safeParse(params);
      if (parsed.success) return true;
      for (const issue of parsed.error.issues) {
        const keys = 'keys' in issue && Array.isArray(issue.keys) ? `.${issue.keys.join(', ')}` : '';
        issues.push(`${[prefix, ...issue.path.map(String)].join('.')}${keys}: ${issue.message}`);
      }
      return false;
    };
    if (report('model.params', project.model.params)) {
      try {
        const candidates = searchCandidates(
          { params: project.model.params, features: project.features },
          project.model.search,
          project.seed,
        );
        for (const candidate of candidates) {
          if (!report('model.search.space', candidate.params)) break;
          checkFeatureSteps(candidate.features);
        }
      } catch (error) {
        issues.push((error as Error).message);
      }
    }
  }
  try {
    checkFeatureSteps(project.features);
  } catch (error) {
    issues.push(`features: ${(error as Error).message}`);
  }
  if (issues.length)
    throw new ConfigError(`invalid project definition in ${configFile}:`, configFile, issues);
}
