import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE_NAMES, loadProject } from '../../config/load.js';
import { type Backends, defaultStores, openBackends } from '../../registry/index.js';

/**
 * Opens the stores of the project in `projectPath` (its config's URIs and notifications), or the
 * embedded defaults relative to that folder when it holds no project; env overrides apply either way.
 */
export async function withBackends<T>(
  projectPath: string,
  work: (backends: Backends) => Promise<T>,
): Promise<T> {
  const dir = path.resolve(projectPath);
  const hasProject =
    existsSync(dir) &&
    (statSync(dir).isFile() || CONFIG_FILE_NAMES.some((name) => existsSync(path.join(dir, name))));
  const backends = hasProject
    ? await (async () => {
        const { project, dir: base } = await loadProject(dir);
        // Only the stores and notifications matter here; the rest of the config is not checked.
        return openBackends({ ...project.stores, baseDir: base, notifications: project.notifications });
      })()
    : openBackends({ ...defaultStores(), baseDir: dir });
  try {
    return await work(backends);
  } finally {
    await backends.close();
  }
}

/** Fixed-width columns for terminal listings. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
