import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

/** A project written against the SDK: its files import only 'kiln' and each other. */
export function expectSdkOnlyImports(projectDir: string, files = ['plugins.ts', 'kiln.config.ts']): void {
  for (const file of files) {
    const source = readFileSync(path.join(projectDir, file), 'utf8');
    const specifiers = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(specifiers.length).toBeGreaterThan(0);
    for (const specifier of specifiers) expect(specifier === 'kiln' || specifier.startsWith('./')).toBe(true);
  }
}
