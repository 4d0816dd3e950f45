import { ConfigError, type LoadedProject } from '../config/load.js';
import { checkFeatureSteps } from '../features/pipeline.js';
import { getModelFamily, modelFamilyNames } from '../models/registry.js';
import '../models/index.js';
import { searchCandidates } from './search.js';

/**
 * Checks what the config schema alone cannot (the model family's own parameters, the search space,
 * feature expressions, column references) before any data is read or a run is recorded.
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
