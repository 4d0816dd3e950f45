/**
 * The ONNX form of the tfidf step against the JS step on real questions: the two tfidf steps of a
 * project (word and char_wb n-grams of one text column) fitted on its training file, exported into one
 * graph reading the raw column, run by onnxruntime-node on every row.
 *
 *   npx tsx bench/onnx-text-parity.ts            # posos (French, stripAccents) and banking77 (English)
 *   npx tsx bench/onnx-text-parity.ts posos
 *
 * Reports the largest |ONNX − JS| over all rows and features, the graph's size, and the time per row
 * at batch 1 and batch 100 (onnxruntime with intraOpNumThreads 1, graph optimisation "all", as the
 * ONNX engine runs it; the graph's output is the dense [N, F] block) beside the JS transform of the
 * same steps (CSR) on the same batches. Reads the data sets from ../shared/datasets; writes nothing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { z } from 'zod';
import { type TfidfStepState, tfidfStepSchema } from '../src/features/steps/index.js';
import { denseRows, tfidfToOnnx, UNICODE_VERSION } from '../src/features/text/onnx.js';
import { fitTfidf, type TfidfVectorizer } from '../src/features/text/tfidf.js';
import { DOUBLE, GraphBuilder, onnx, STRING, valueInfo } from '../src/onnx/graph.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const datasets = path.resolve(here, '../../shared/datasets');

type StepInput = z.input<typeof tfidfStepSchema>;
interface Project {
  name: string;
  file: string;
  column: string;
  steps: StepInput[];
}

/** As in examples/<project>/kiln.config.ts. */
const PROJECTS: Project[] = [
  {
    name: 'posos',
    file: path.join(datasets, 'intent-posos/input_train.csv'),
    column: 'question',
    steps: [
      {
        step: 'tfidf',
        column: 'question',
        analyzer: 'word',
        ngramRange: [1, 2],
        stripAccents: true,
        sublinearTf: true,
      },
      {
        step: 'tfidf',
        column: 'question',
        analyzer: 'char_wb',
        ngramRange: [1, 5],
        stripAccents: true,
        sublinearTf: true,
      },
    ],
  },
  {
    name: 'banking77',
    file: path.join(datasets, 'intent-banking77/train.csv'),
    column: 'text',
    steps: [
      { step: 'tfidf', column: 'text', analyzer: 'word', ngramRange: [1, 2], sublinearTf: true },
      { step: 'tfidf', column: 'text', analyzer: 'char_wb', ngramRange: [2, 5], sublinearTf: true },
    ],
  },
];

const only = process.argv[2];
for (const project of PROJECTS.filter((p) => !only || p.name === only)) await bench(project);

async function bench(project: Project): Promise<void> {
  const rows = parse(readFileSync(project.file), { columns: true }) as Record<string, string>[];
  const texts = rows.map((row) => row[project.column]);
  const fitted = project.steps.map((input) => {
    const config = tfidfStepSchema.parse(input);
    const { vectorizer } = fitTfidf(texts, config);
    const state: TfidfStepState = { config, ...vectorizer.state() };
    return { state, vectorizer };
  });
  const widths = fitted.map((f) => f.state.vocabulary.length);
  const F = widths.reduce((a, b) => a + b, 0);

  const started = performance.now();
  const g = new GraphBuilder(['text', 'features']);
  const blocks = fitted.map(({ state }) => tfidfToOnnx(g, state, 'text'));
  g.node('Concat', blocks, { axis: 1 }, 'features');
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 9,
      opsetImport: g.opsetImports(20),
      producerName: 'kiln-bench',
      graph: g.graph(
        'tfidf',
        [valueInfo('text', STRING, ['N', 1])],
        [valueInfo('features', DOUBLE, ['N', F])],
      ),
    }),
  ).finish();
  const exported = performance.now();
  const session = await InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const loaded = performance.now();
  console.log(
    `\n${project.name}: ${texts.length} texts, features ${widths.join(' + ')} = ${F}; graph ${bytes.length.toLocaleString()} bytes (export ${((exported - started) / 1000).toFixed(1)} s, session ${((loaded - exported) / 1000).toFixed(1)} s; tables from ${UNICODE_VERSION})`,
  );

  const runOnnx = async (batch: readonly string[]) => {
    const out = await session.run({ text: new Tensor('string', [...batch], [batch.length, 1]) });
    return (out.features as Tensor).data as Float64Array;
  };
  const runJs = (batch: readonly string[], vectorizers: readonly TfidfVectorizer[]) =>
    vectorizers.map((v) => v.transform(batch));

  // Parity over every row, in batches of 100.
  let maxDiff = 0;
  let worst = '';
  const vectorizers = fitted.map((f) => f.vectorizer);
  for (let start = 0; start < texts.length; start += 100) {
    const batch = texts.slice(start, start + 100);
    const got = await runOnnx(batch);
    const js = runJs(batch, vectorizers).map(denseRows);
    for (let r = 0; r < batch.length; r++) {
      let offset = 0;
      js.forEach((block, b) => {
        const w = widths[b];
        for (let j = 0; j < w; j++) {
          const d = Math.abs(got[r * F + offset + j] - block[r * w + j]);
          if (d > maxDiff) {
            maxDiff = d;
            worst = `row ${start + r}, ${fitted[b].state.config.analyzer} term ${JSON.stringify(fitted[b].state.vocabulary[j])}`;
          }
        }
        offset += w;
      });
    }
  }
  console.log(
    `max |onnx - js| over ${texts.length} rows x ${F} features: ${maxDiff.toExponential(2)}${maxDiff > 0 ? ` (${worst})` : ''}`,
  );

  // Time per row: batch 1 on the first 300 rows, batch 100 over every row; the best of 3 passes (the
  // machine may be busy).
  const time = async (batchSize: number, limit: number, fn: (batch: string[]) => unknown) => {
    const n = Math.min(limit, texts.length);
    await fn(texts.slice(0, batchSize)); // warm-up
    let best = Number.POSITIVE_INFINITY;
    for (let pass = 0; pass < 3; pass++) {
      const t0 = performance.now();
      for (let start = 0; start < n; start += batchSize) {
        await fn(texts.slice(start, Math.min(n, start + batchSize)));
      }
      best = Math.min(best, ((performance.now() - t0) * 1000) / n);
    }
    return best;
  };
  const onnx1 = await time(1, 300, runOnnx);
  const js1 = await time(1, 300, (b) => runJs(b, vectorizers));
  const onnx100 = await time(100, texts.length, runOnnx);
  const js100 = await time(100, texts.length, (b) => runJs(b, vectorizers));
  console.log(`per row, batch 1:   onnx ${onnx1.toFixed(0)} µs, js ${js1.toFixed(1)} µs`);
  console.log(`per row, batch 100: onnx ${onnx100.toFixed(0)} µs, js ${js100.toFixed(1)} µs`);
  await session.release();
}
