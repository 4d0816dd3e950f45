import type { Project } from '../config/schema.js';
import type { ModelVersion } from '../stores/metadata/index.js';
import type { Progress } from '../util/progress.js';
import { defaultActor, type Registry } from './registry.js';

/** Whether a run's package is registered under the project's `registry.register` policy. */
export function shouldRegister(policy: Project['registry']['register'], passed: boolean): boolean {
  return policy === 'always' || (policy === 'on_pass' && passed);
}

/**
 * Registers a run's package as the next version of the project's model (the same package again
 * returns its version) and moves the project's alias, if any, to it.
 */
export async function registerRun(
  registry: Registry,
  project: Project,
  packageDir: string,
  runId: string,
  progress: Progress,
): Promise<ModelVersion> {
  const name = project.registry.model ?? project.name;
  progress.stage('register', { model: name });
  const change = { actor: defaultActor(), reason: `trained by run ${runId}` };
  const { version, created } = await registry.register({ name, packageDir }, change);
  progress.info(
    created
      ? `registered ${name} version ${version.version}`
      : `${name} version ${version.version} already holds this exact package`,
    { package: version.packageUri },
  );
  const alias = project.registry.alias;
  if (alias && !version.aliases.includes(alias)) {
    await registry.moveAlias({ name, alias, version: version.version }, change);
    progress.info(`moved ${name}@${alias} to version ${version.version}`);
    return { ...version, aliases: [...version.aliases, alias] };
  }
  return version;
}
