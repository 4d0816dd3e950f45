import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The expression that loads a worker module beside the caller, for a worker started with `eval: true`:
 * the compiled file when it exists (dist/), else its TypeScript source after registering tsx's loader
 * (tests, tsx). `compiled` is the module's .js URL, `new URL('./x-worker.js', import.meta.url)`.
 */
export function workerModuleImport(compiled: URL): string {
  if (existsSync(fileURLToPath(compiled))) return `import(${JSON.stringify(compiled.href)})`;
  const source = new URL(compiled.href.replace(/\.js$/, '.ts'));
  return `import(${JSON.stringify(tsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(source.href)}); })`;
}

/** A worker thread running the module beside the caller (see `workerModuleImport`). */
export function moduleWorker(compiled: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  return new Worker(`${workerModuleImport(compiled)};`, { ...options, eval: true });
}

/**
 * tsx's ESM loader API, found from this module (an eval worker would resolve a bare name from the cwd;
 * require.resolve would give the CommonJS build, whose register() does not find its loader).
 */
function tsxApi(): string {
  try {
    const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
    const entry = JSON.parse(readFileSync(manifest, 'utf8')).exports['./esm/api'].import.default;
    return pathToFileURL(path.join(path.dirname(manifest), entry)).href;
  } catch {
    return 'tsx/esm/api';
  }
}
