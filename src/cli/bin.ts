#!/usr/bin/env node
// The AWS SDK warns on every run that its releases after January 2027 need Node 22; the versions
// pinned in the lockfile run on Node 20, so the warning says nothing to a Kiln user. Set before the
// SDK loads (hence the dynamic import).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// When the reader of stdout or stderr goes away (`kiln --help | head -1`), the next write fails with
// EPIPE, emitted as an 'error' event that crashed the process when nothing listened. The stream is
// then destroyed and later writes are dropped without a word: the command ends quietly with its own
// exit code (as pino does for the JSON log on fd 2), instead of stopping half-way through its work.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

// Node 22+ keeps the compiled code of Kiln's modules on disk (the OS temp folder) between runs: a
// quarter less start-up time for every command. Node 20 has no such cache.
const nodeModule = (await import('node:module')) as { enableCompileCache?: () => unknown };
nodeModule.enableCompileCache?.();

const { main } = await import('./main.js');

process.exitCode = await main(process.argv);
