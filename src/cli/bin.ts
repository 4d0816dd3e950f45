#!/usr/bin/env node
// The AWS SDK warns on every run that its releases after January 2027 need Node 22; the versions
// pinned in the lockfile run on Node 20, so the warning says nothing to a Kiln user. Set before the
// SDK loads (hence the dynamic import).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('./main.js');

process.exitCode = await main(process.argv);
