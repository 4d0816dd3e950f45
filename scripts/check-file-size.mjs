#!/usr/bin/env node
// Fails when a source file under src/ is longer than the limit: a long file is a module doing too much.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const LIMIT = 500;
const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
const files = readdirSync(root, { recursive: true })
  .filter((f) => f.endsWith('.ts'))
  .sort();
const long = files
  .map((file) => ({ file, lines: readFileSync(path.join(root, file), 'utf8').split('\n').length - 1 }))
  .filter(({ lines }) => lines > LIMIT);
for (const { file, lines } of long)
  console.error(`src/${file}: ${lines} lines (limit ${LIMIT}): split it by concern`);
process.exitCode = long.length > 0 ? 1 : 0;
