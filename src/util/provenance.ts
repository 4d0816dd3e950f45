import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Packages whose versions can change a run's numbers or its package format. */
const RECORDED_DEPENDENCIES = ['zod', 'csv-parse', '@duckdb/node-api', '@photostructure/sqlite', 'jsep'];

export function kilnVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/**
 * The code a run was made with: the project's git commit (with "-dirty" when the work tree has
 * changes) or "untracked", plus Kiln's own version.
 */
export function codeVersion(projectDir: string): string {
  let commit = 'untracked';
  try {
    const git = (args: string[]) =>
      execFileSync('git', args, { cwd: projectDir, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    commit = git(['rev-parse', '--short=12', 'HEAD']);
    if (git(['status', '--porcelain', '--', '.'])) commit += '-dirty';
  } catch {
    // Not a git checkout, or git is absent: the version stays "untracked".
  }
  return `${commit} (kiln ${kilnVersion()})`;
}

export function dependencyVersions(): Record<string, string> {
  const versions: Record<string, string> = { node: process.version, kiln: kilnVersion() };
  for (const name of RECORDED_DEPENDENCIES) {
    try {
      const entry = require.resolve(name);
      let dir = path.dirname(entry);
      // Walk up to the package's own package.json (entry points may sit in subfolders).
      while (!dir.endsWith(path.join('node_modules', name)) && dir !== path.dirname(dir))
        dir = path.dirname(dir);
      versions[name] = (
        JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }
      ).version;
    } catch {
      versions[name] = 'unavailable';
    }
  }
  return versions;
}
