/**
 * `kiln predict --server`: a file scored through a real Kiln server (buildServer, listening on
 * 127.0.0.1) with a small seeded text package whose rows carry an ID, compared with local mode.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsOnlyHeader, type ServedModelDescription } from '../../src/scoring/remote-batch.js';
import { buildServer, type ServerOptions } from '../../src/serving/server/app.js';
import { sha256 } from '../../src/serving/server/security.js';
import { PackageDirectorySource } from '../../src/serving/server/sources.js';
import { textQuestions, trainTextPackage } from '../serving/server/text-fixture.js';
import { readCsv, runKiln, tempDir } from './harness.js';

const MODEL = 'intent-ids';
const INPUT_ROWS = 203;

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

async function serve(packageDir: string, options: Partial<ServerOptions> = {}) {
  const app = buildServer({ sources: [new PackageDirectorySource(packageDir)], ...options });
  const predictRequests: number[] = [];
  const inFlight = { now: 0, max: 0 };
  const isPredict = (request: { method: string; url: string }) =>
    request.method === 'POST' && request.url.endsWith('/predict');
  app.addHook('onRequest', async (request) => {
    if (!isPredict(request)) return;
    predictRequests.push(Date.now());
    inFlight.max = Math.max(inFlight.max, ++inFlight.now);
  });
  app.addHook('onResponse', async (request) => {
    if (isPredict(request)) inFlight.now--;
  });
  await app.kiln.ready;
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: address, predictRequests, inFlight };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('kiln predict --server', () => {
  const dir = tempDir();
  let packageDir: string;
  let server: Awaited<ReturnType<typeof serve>>;
  let input: string;
  let localOutput: string;
  let described: ServedModelDescription;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    packageDir = await trainTextPackage({ name: MODEL, ids: true, dir });
    server = await serve(packageDir);
    apps.push(server.app);
    described = (await (await fetch(`${server.url}/v1/models/${MODEL}`)).json()) as ServedModelDescription;
    // IDs out of order, and questions with commas, quotes and accents, as in the posos test file.
    const rows = textQuestions(INPUT_ROWS - 1, 11);
    const lines = rows.map((r, i) => `${9000 - i},${csvCell(r.question)}`);
    lines.push(`42,${csvCell('dose, "combien" de comprimés par jour ? (mère allaitante)')}`);
    input = path.join(dir, 'questions.csv');
    writeFileSync(input, `ID,question\n${lines.join('\n')}\n`);
    localOutput = path.join(dir, 'local.csv');
    const local = await runKiln([
      'predict',
      '--model',
      packageDir,
      '--input',
      input,
      '--output',
      localOutput,
    ]);
    expect(local.code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  const predict = async (name: string, ...extra: string[]) => {
    const output = path.join(dir, `${name}.csv`);
    const result = await runKiln(['predict', '--output', output, ...extra]);
    return { ...result, output };
  };
  const remote = (name: string, ...extra: string[]) =>
    predict(name, '--server', server.url, '--model', MODEL, '--input', input, ...extra);

  it('writes the same CSV as local mode: ID, label, one probability per class, in input order', async () => {
    const before = server.predictRequests.length;
    const { code, stdout, stderr, output } = await remote('remote');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`read ${INPUT_ROWS} rows: scored ${INPUT_ROWS}, filtered out 0, rejected 0`);
    expect(stdout).toMatch(new RegExp(`model: +${MODEL} version \\S+ at ${server.url} \\(1 requests\\)`));
    expect(server.predictRequests.length - before).toBe(1); // 203 rows < the default batch of 256
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(localOutput, 'utf8'));
    const { header, rows } = readCsv(output);
    expect(header).toEqual(['ID', 'label', ...described.output.classes.map((c) => `p_${c}`)]);
    expect(rows[0].ID).toBe('9000');
    expect(rows.at(-1)!.ID).toBe('42');
    expect(rows.at(-1)!.label).toBe('posologie');
  });

  it('sends batches of --batch-size with --concurrency in flight and keeps the input order', async () => {
    const before = server.predictRequests.length;
    server.inFlight.max = 0;
    const { code, stdout, output } = await remote('batched', '--batch-size', '7', '--concurrency', '3');
    expect(code).toBe(0);
    expect(server.inFlight.max).toBeGreaterThanOrEqual(1);
    expect(server.inFlight.max).toBeLessThanOrEqual(3);
    expect(server.predictRequests.length - before).toBe(Math.ceil(INPUT_ROWS / 7));
    expect(stdout).toContain(`(${Math.ceil(INPUT_ROWS / 7)} requests)`);
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(localOutput, 'utf8'));
  });

  it('--labels-only writes <id column>,<target>: the target the server reports, else "label"', async () => {
    const { code, output } = await remote('labels', '--labels-only', '--batch-size', '50');
    expect(code).toBe(0);
    const { header, rows } = readCsv(output);
    expect(header).toEqual(['ID', described.output.target ?? 'label']);
    const local = readCsv(localOutput).rows;
    expect(rows.map((r) => [r.ID, r[header[1]]])).toEqual(local.map((r) => [r.ID, r.label]));
    expect(readFileSync(output, 'utf8').split('\n')[1]).toMatch(/^9000,\w+$/);
  });

  it('--target-column names the label column (e.g. intention for the posos submission format)', async () => {
    const { code, output } = await remote('intention', '--labels-only', '--target-column', 'intention');
    expect(code).toBe(0);
    const { header, rows } = readCsv(output);
    expect(header).toEqual(['ID', 'intention']);
    expect(rows).toHaveLength(INPUT_ROWS);
    for (const row of rows) expect(described.output.classes).toContain(row.intention);
  });

  it('labels-only header falls back to the line number and "label" without an id or target', () => {
    const bare = {
      ...described,
      signature: { inputs: described.signature.inputs },
      output: { classes: ['a'] },
    };
    expect(labelsOnlyHeader(bare)).toEqual(['line', 'label']);
    expect(labelsOnlyHeader({ ...bare, output: { classes: ['a'], target: 'intent' } })).toEqual([
      'line',
      'intent',
    ]);
    expect(labelsOnlyHeader(bare, 'intention')).toEqual(['line', 'intention']);
  });

  it('local mode has --labels-only too, with the package’s id and target columns', async () => {
    const { code, output } = await predict(
      'local-labels',
      '--model',
      packageDir,
      '--input',
      input,
      '--labels-only',
    );
    expect(code).toBe(0);
    const { header, rows } = readCsv(output);
    expect(header).toEqual(['ID', 'intent']);
    expect(rows.map((r) => [r.ID, r.intent])).toEqual(readCsv(localOutput).rows.map((r) => [r.ID, r.label]));
    expect(readdirSync(dir).filter((f) => f.includes('.full-'))).toEqual([]);
    const copy = path.join(dir, 'input-copy.csv');
    writeFileSync(copy, readFileSync(input));
    const onInput = await runKiln([
      'predict',
      '--model',
      packageDir,
      '--input',
      copy,
      '--output',
      copy,
      '--labels-only',
    ]);
    expect(onInput.code).toBe(1);
    expect(onInput.stderr).toContain('is the input file');
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(input, 'utf8'));
  });

  it('--sort desc orders rows by their top probability, as local mode does', async () => {
    const [remoteSorted, localSorted] = await Promise.all([
      remote('remote-sorted', '--sort', 'desc', '--batch-size', '20'),
      predict('local-sorted', '--model', packageDir, '--input', input, '--sort', 'desc'),
    ]);
    expect(remoteSorted.code).toBe(0);
    expect(readFileSync(remoteSorted.output, 'utf8')).toBe(readFileSync(localSorted.output, 'utf8'));
  });

  it('rows the signature refuses go to the rejects file; the others are scored', async () => {
    const bad = path.join(dir, 'with-bad-rows.csv');
    writeFileSync(bad, `ID,question\n1,combien de comprimés ?\n2,\n3,effets secondaires ?\n`);
    const { code, stdout, output } = await predict(
      'rejects',
      ...['--server', server.url, '--model', MODEL, '--input', bad],
    );
    expect(code).toBe(0);
    expect(stdout).toContain('read 3 rows: scored 2, filtered out 0, rejected 1');
    expect(readCsv(output).rows.map((r) => r.ID)).toEqual(['1', '3']);
    const rejects = readCsv(`${output}.rejects.csv`).rows;
    expect(rejects.map((r) => [r.ID, r._line, r._column])).toEqual([['2', '3', 'question']]);
  });

  it('an unreachable server exits 1 naming the address, and writes nothing', async () => {
    const port = await closedPort();
    const { code, stderr, output } = await predict(
      'unreachable',
      ...['--server', `http://127.0.0.1:${port}`, '--model', MODEL, '--input', input],
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot reach the Kiln server at http://127.0.0.1:${port}: connection refused`);
    expect(existsSync(output)).toBe(false);
  });

  it('an unknown model name exits 1 with the names the server serves', async () => {
    const { code, stderr } = await predict(
      'unknown',
      '--server',
      server.url,
      '--model',
      'nope',
      '--input',
      input,
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`the server at ${server.url} serves no model "nope"`);
    expect(stderr).toContain(MODEL);
  });

  it('a refused batch shows the status, the server’s reason and the input lines, and leaves no output', async () => {
    const small = await serve(packageDir, { maxRecords: 10 });
    apps.push(small.app);
    const { code, stderr, output } = await predict(
      'too-many',
      ...['--server', small.url, '--model', MODEL, '--input', input, '--batch-size', '25'],
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`the server refused rows at lines 2–26 of ${input} (batch 1): 413`);
    expect(stderr).toContain('the limit is 10');
    expect(stderr).toContain('lower --batch-size');
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('sends KILN_API_KEY as a bearer token to a server that requires one', async () => {
    const key = 'remote-scoring-test-key';
    const secured = await serve(packageDir, { apiKeyHashes: [sha256(key)], requireAuthForPredict: true });
    apps.push(secured.app);
    const args = ['--server', secured.url, '--model', MODEL, '--input', input, '--labels-only'];
    const refused = await predict('no-key', ...args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401 missing API key');
    expect(refused.stderr).toContain('KILN_API_KEY');
    process.env.KILN_API_KEY = key;
    try {
      const accepted = await predict('with-key', ...args);
      expect(accepted.code).toBe(0);
      expect(readCsv(accepted.output).rows).toHaveLength(INPUT_ROWS);
    } finally {
      delete process.env.KILN_API_KEY;
    }
  });

  it.each([
    ['--where', ['--where', 'question=x'], /--where is not available with --server/],
    [
      'a package folder as --model',
      ['--model', '/tmp/pkg'],
      /--model is the name of a model the server serves/,
    ],
    ['a zero --batch-size', ['--batch-size', '0'], /--batch-size must be a whole number ≥ 1/],
  ])('usage errors exit 2: %s', async (_name, extra, message) => {
    const args = ['--server', server.url, '--model', MODEL, '--input', input, ...extra];
    const { code, stderr } = await predict('usage', ...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('--help explains both modes', async () => {
    const { code, stdout } = await runKiln(['predict', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--server <url>');
    expect(stdout).toContain('Local mode (--model <package folder>)');
    expect(stdout).toContain('Remote mode (--server <url> --model <name>)');
    expect(stdout).toContain('--labels-only');
    expect(stdout).toContain('--batch-size <n>');
  });
});
