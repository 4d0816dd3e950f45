/**
 * The README's quick tour, run as written on the customer-risk example: the commands are read from the
 * README itself (`npx kiln ...` → the built CLI), so a tour that stops working fails here. Runs and the
 * registry go to a scratch folder (KILN_* variables), never into the example.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServeProcess, startServe } from '../serving/server/built-cli.js';
import { hasSharedDataset, repoRoot } from './shared-data.js';

/** The README's `npx kiln ...` lines that name the customer-risk example and need no placeholder. */
function tourCommands(): string[][] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const tour = readme.slice(readme.indexOf('## A quick tour'), readme.indexOf('## Registry and production'));
  return [...tour.matchAll(/^npx kiln (.*examples\/customer-risk.*)$/gm)]
    .map((m) => m[1].replace(/\s+#.*$/, '').trim())
    .filter((line) => !line.includes('<'))
    .map((line) => line.split(/\s+/));
}

describe.skipIf(!hasSharedDataset('customer-risk'))('the README quick tour on customer-risk', () => {
  const saved = { ...process.env };
  let server: ServeProcess | undefined;

  beforeAll(() => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'kiln-tour-'));
    process.env.KILN_METADATA_URI = `sqlite://${path.join(scratch, 'kiln.db')}`;
    process.env.KILN_ARTIFACTS_URI = `file://${path.join(scratch, 'artifacts')}`;
    process.env.KILN_LOCAL_DIR = path.join(scratch, 'local');
    process.env.KILN_PREDICTION_LOG_URI = `sqlite://${path.join(scratch, 'predictions.db')}`;
  });
  afterAll(async () => {
    await server?.stop();
    process.env = saved;
  });

  it('trains, lists runs and serves customer-risk@champion as the README prints the commands', async () => {
    const commands = tourCommands();
    expect(commands.map((c) => c[0])).toEqual(['train', 'runs', 'serve']);
    for (const command of commands) {
      if (command[0] === 'serve') {
        // The README's fixed port may be taken here: any free one.
        const port = command.indexOf('--port');
        const args = port === -1 ? command.slice(1) : [...command.slice(1, port), ...command.slice(port + 2)];
        server = await startServe(args, { cwd: repoRoot });
        const answer = await fetch(`${server.base}/v1/models/customer-risk/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ deposits: 50, withdrawals: null, stakes: 20, product: 'bet', age: '50+' }),
        });
        expect(answer.status).toBe(200);
      } else {
        const result = await runCli(command, { cwd: repoRoot });
        expect(result.code, `kiln ${command.join(' ')}\n${result.stderr}`).toBe(0);
      }
    }
  });
});
