/**
 * The ONNX form of the tfidf step against the JS step: seeded texts full of what text normalisation and
 * tokenisation can trip on, every analyzer and option, run in onnxruntime-node as the ONNX engine runs
 * graphs (one thread, optimisation "all").
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { makeTable } from '../../../src/data/table.js';
import {
  fitStep,
  loadStep,
  type TfidfStepState,
  tfidfStepSchema,
} from '../../../src/features/steps/index.js';
import { type NormalizeOptions, normalizeText } from '../../../src/features/text/normalize.js';
import { normalizedCodePoints } from '../../../src/features/text/onnx/normalize.js';
import { ROW } from '../../../src/features/text/onnx/ops.js';
import { wordTokens } from '../../../src/features/text/onnx/words.js';
import {
  denseRows,
  elisionKeys,
  normalizationTable,
  sigmaContextTable,
  tfidfToOnnx,
} from '../../../src/features/text/onnx.js';
import { tokenize } from '../../../src/features/text/tokenize.js';
import { DOUBLE, GraphBuilder, onnx, STRING, valueInfo } from '../../../src/onnx/graph.js';
import { Random } from '../../../src/util/random.js';

type StepInput = z.input<typeof tfidfStepSchema>;

/** Pieces of text, joined at random with or without separators (a group a line, split on |). */
const FRAGMENTS = [
  // French with accents, capitals, elisions in every spelling
  ...`l'ibuprofène|Lévothyrox|DÉPAKINE|aujourd'hui|Aujourd'hui|jusqu'à|Jusqu'au|qu'il|Qu'en|l’épilepsie|Lʼhôpital|d’accord|d'l'a|l'l'l|'début|fin'|double''apostrophe|prud'hommes|lorsqu'elle|puisqu'on|quoiqu'il|c'est|C'EST|n'est|s'il|t'as|m'a|j'ai|L'|'|''|x'y'z|cœur|Œuvre|ça|À|Noël|naïve|forêt|où|Ça`.split(
    '|',
  ),
  // decomposed (NFD) accents, marks out of canonical order, blocked marks
  ...`e\u0301te\u0301|Ca\u0300|No\u0308el|E\u0301COLE|Tie\u0302\u0301ng Vie\u0323\u0302t|a\u0301\u0316|a\u0316\u0301|e\u0301\u0323|é\u0323|ǵ\u031f|a\u0300\u0301\u0302\u0316\u0317|o\u031b\u0301|\u0301abc|a\u034f\u0301|ﬁ\u0301|A\u030a|ḝ\u0323`.split(
    '|',
  ),
  // other scripts
  ...`ΟΔΟΣ|Σίσυφος|ΣΑΣ.|σοφός|ΌΣΟΣ’|Σ|ΑΣ\u0301|İstanbul|ıI|ß|ẞ|ǅ|ǈ|Привет|ЁЖ|שלום|مرحبا|हिन्दी|ภาษาไทย|中文字|한국어|\u1100\u1161\u11a8|\u1100\u1161|\u11a8|\u0b47\u0b3e|\u0dd9\u0dcf\u0dca|\u0f73|\u0344`.split(
    '|',
  ),
  // digits, symbols, underscores, ligatures, compatibility forms
  ...`123|3,5mg|2ème|m²|½|①|foo_bar|_x_|__|ﬁèvre|ﬂacon|Ⅻ|ＡＢＣ|㎏|℃|…|...|?!|«|»|—|-|/|(|)|@|#|%|&`.split(
    '|',
  ),
  // emoji and other astral characters
  ...`😀|👍🏽|🇫🇷|𝐀𝐁𝐂|𝚺𝛀|𠀀𠀁|😀😀|a😀b|𝔞`.split('|'),
  // whitespace and invisible characters
  ...` |  |\u0009|\u000a|\u000d\u000a|\u00a0|\u2009|\u202f|\u3000|\ufeff|\u1680|\u200b|\u00ad|\u2028`.split(
    '|',
  ),
];
const SEPARATORS = [' ', ' ', ' ', '', '', ', ', '. ', '\t', '\n', '\u00a0', "'", '’', '-'];

function makeTexts(seed: number, n: number): (string | null)[] {
  const random = new Random(seed);
  const texts: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    const r = random.next();
    if (r < 0.03) {
      texts.push(null);
      continue;
    }
    if (r < 0.06) {
      texts.push('');
      continue;
    }
    const parts = 1 + random.int(14);
    let text = '';
    for (let k = 0; k < parts; k++) {
      text += FRAGMENTS[random.int(FRAGMENTS.length)];
      if (k + 1 < parts) text += SEPARATORS[random.int(SEPARATORS.length)];
    }
    texts.push(text);
  }
  return texts;
}

const TRAIN = makeTexts(1, 400);
const TEST = [...makeTexts(2, 300), ...FRAGMENTS];

async function fitted(input: StepInput, train: readonly (string | null)[] = TRAIN) {
  const config = tfidfStepSchema.parse(input);
  const table = makeTable([['text', { type: 'text', values: [...train] }]]);
  const step = await fitStep(table, config, { exclude: new Set() });
  // The package's path: the state as JSON, loaded again.
  const state = JSON.parse(JSON.stringify(step.state)) as TfidfStepState;
  return { state, step: loadStep(state) };
}

const sessions: InferenceSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

/** One graph: input "text" [N, 1], one output per state (its block). */
async function session(states: readonly TfidfStepState[]) {
  const g = new GraphBuilder(['text']);
  const outputs = states.map((state) => tfidfToOnnx(g, state, 'text'));
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 9,
      opsetImport: g.opsetImports(20),
      graph: g.graph(
        'tfidf',
        [valueInfo('text', STRING, ['N', 1])],
        outputs.map((o, k) => valueInfo(o, DOUBLE, ['N', states[k].vocabulary.length])),
      ),
    }),
  ).finish();
  const s = await InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  sessions.push(s);
  const run = async (texts: readonly (string | null)[]) => {
    const out = await s.run({
      text: new Tensor(
        'string',
        texts.map((t) => t ?? ''),
        [texts.length, 1],
      ),
    });
    return outputs.map((o) => out[o].data as Float64Array);
  };
  return { run, graph: g };
}

function jsBlock(step: Awaited<ReturnType<typeof fitted>>['step'], texts: readonly (string | null)[]) {
  const table = makeTable([['text', { type: 'text', values: [...texts] }]]);
  return denseRows(step.sparse!.transform(table, new Map()));
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Fits the step, runs the graph on TRAIN and TEST (several batch sizes) and compares with the JS step. */
async function expectParity(input: StepInput) {
  const { state, step } = await fitted(input);
  expect(state.vocabulary.length).toBeGreaterThan(0);
  const { run } = await session([state]);
  let max = 0;
  for (const texts of [TRAIN, TEST, TEST.slice(0, 1), TEST.slice(5, 42)]) {
    const [got] = await run(texts);
    const want = jsBlock(step, texts);
    max = Math.max(max, maxAbsDiff(got, want));
    // The texts do hit the vocabulary.
    expect(want.some((v) => v > 0)).toBe(true);
  }
  expect(max).toBeLessThanOrEqual(1e-9);
  return { state, max };
}

describe('tfidf step as ONNX: parity with the JS step', () => {
  const WORD_CASES: StepInput[] = [
    // posos
    {
      step: 'tfidf',
      column: 'text',
      analyzer: 'word',
      ngramRange: [1, 2],
      stripAccents: true,
      sublinearTf: true,
    },
    {
      step: 'tfidf',
      column: 'text',
      ngramRange: [1, 3],
      lowercase: false,
      elisions: 'drop',
      minTokenLength: 1,
      norm: 'l1',
    },
    { step: 'tfidf', column: 'text', ngramRange: [2, 2], minTokenLength: 3, norm: 'none', sublinearTf: true },
    {
      step: 'tfidf',
      column: 'text',
      lowercase: false,
      stripAccents: true,
      elisions: 'drop',
      sublinearTf: true,
    },
    {
      step: 'tfidf',
      column: 'text',
      ngramRange: [1, 2],
      minTokenLength: 4,
      elisions: 'keep',
      stripAccents: true,
    },
    { step: 'tfidf', column: 'text', ngramRange: [1, 2], minDf: 2, maxDf: 0.5, maxFeatures: 60 },
  ];
  for (const input of WORD_CASES) {
    const { step: _, column: __, ...options } = input;
    it(`word ${JSON.stringify(options)}`, async () => {
      await expectParity(input);
    });
  }

  const CHAR_CASES: StepInput[] = [
    // posos, banking77
    {
      step: 'tfidf',
      column: 'text',
      analyzer: 'char_wb',
      ngramRange: [1, 5],
      stripAccents: true,
      sublinearTf: true,
    },
    { step: 'tfidf', column: 'text', analyzer: 'char_wb', ngramRange: [2, 5], sublinearTf: true },
    { step: 'tfidf', column: 'text', analyzer: 'char_wb', ngramRange: [3, 3], lowercase: false, norm: 'l1' },
    // padded words shorter than n are terms of their own
    {
      step: 'tfidf',
      column: 'text',
      analyzer: 'char_wb',
      ngramRange: [4, 6],
      stripAccents: true,
      norm: 'none',
    },
    {
      step: 'tfidf',
      column: 'text',
      analyzer: 'char_wb',
      ngramRange: [1, 1],
      lowercase: false,
      maxFeatures: 100,
    },
    { step: 'tfidf', column: 'text', analyzer: 'char_wb', ngramRange: [1, 2], minDf: 3, sublinearTf: true },
  ];
  for (const input of CHAR_CASES) {
    const { step: _, column: __, ...options } = input;
    it(`char_wb ${JSON.stringify(options)}`, async () => {
      await expectParity(input);
    });
  }

  it('keeps the halves of astral characters apart as the JS char n-grams do', async () => {
    const { state } = await expectParity({
      step: 'tfidf',
      column: 'text',
      analyzer: 'char_wb',
      ngramRange: [1, 3],
    });
    // The vocabulary has lone surrogates (an emoji cut in two) and they are matched.
    expect(state.vocabulary.some((t) => /[\ud800-\udbff](?![\udc00-\udfff])/.test(t))).toBe(true);
  });

  it('gives all-zero rows for empty and missing texts and unseen words, and runs a batch of none', async () => {
    for (const input of [
      { step: 'tfidf', column: 'text', ngramRange: [1, 2] },
      { step: 'tfidf', column: 'text', analyzer: 'char_wb', ngramRange: [2, 4] },
    ] as StepInput[]) {
      const { state, step } = await fitted(input);
      const { run } = await session([state]);
      for (const texts of [[''], [null], ['', null, ''], ['\u0007\u0008'], [' \t\n ']]) {
        const [got] = await run(texts);
        expect(Array.from(got).every((v) => v === 0)).toBe(true);
        expect(maxAbsDiff(got, jsBlock(step, texts))).toBe(0);
      }
      // A batch of no rows: [0, F].
      expect((await run([]))[0].length).toBe(0);
    }
  });

  it('shares the normalisation of one column between steps, and the tokens between word steps', async () => {
    const steps = await Promise.all(
      [
        { step: 'tfidf', column: 'text', ngramRange: [1, 2], stripAccents: true, sublinearTf: true },
        { step: 'tfidf', column: 'text', analyzer: 'char_wb', ngramRange: [1, 5], stripAccents: true },
        { step: 'tfidf', column: 'text', ngramRange: [1, 1], stripAccents: true, norm: 'l1' },
        { step: 'tfidf', column: 'text', ngramRange: [1, 1] },
      ].map((input) => fitted(input as StepInput)),
    );
    const { run, graph } = await session(steps.map((s) => s.state));
    const tokenizers = graph.nodes.filter((n) => n.opType === 'Tokenizer').length;
    // Two per normalisation (split, re-split) and one per token stream (token lengths): the first
    // three steps share one normalisation and the word steps their tokens; the fourth has its own.
    expect(tokenizers).toBe(2 + 1 + 2 + 1);
    const got = await run(TEST);
    steps.forEach(({ step }, k) => {
      expect(maxAbsDiff(got[k], jsBlock(step, TEST))).toBeLessThanOrEqual(1e-9);
    });
  });

  it('runs a batch with one very long text beside short ones', async () => {
    const { state, step } = await fitted({ step: 'tfidf', column: 'text', ngramRange: [1, 2] });
    const { run } = await session([state]);
    const long = (TRAIN.filter(Boolean) as string[]).join(' ').repeat(3);
    const texts = ['Noël', long, null, "l'a"];
    const [got] = await run(texts);
    expect(maxAbsDiff(got, jsBlock(step, texts))).toBeLessThanOrEqual(1e-9);
  });
});

/** The normalisation graph's stream, back to one string per text, whitespace collapsed as normalizeText does. */
async function normalizeInGraph(options: NormalizeOptions, texts: readonly string[]): Promise<string[]> {
  const g = new GraphBuilder(['text']);
  const stream = normalizedCodePoints(g, 'text', options);
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 9,
      opsetImport: g.opsetImports(20),
      graph: g.graph('normalize', [valueInfo('text', STRING, ['N', 1])], [valueInfo(stream, STRING)]),
    }),
  ).finish();
  const s = await InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  sessions.push(s);
  const out = await s.run({ text: new Tensor('string', [...texts], [texts.length, 1]) });
  return (out[stream].data as string[])
    .join('')
    .split(ROW)
    .slice(1, texts.length + 1)
    .map((t) => t.replace(/\s+/g, ' ').trim());
}

describe('normalisation graph', () => {
  /** Characters where per-character mapping and whole-string normalisation part ways. */
  const POOL = [
    ...Array.from({ length: 0x250 - 0x20 }, (_, i) => String.fromCodePoint(0x20 + i)),
    ...Array.from({ length: 0x70 }, (_, i) => String.fromCodePoint(0x300 + i)),
    ...Array.from({ length: 0x90 }, (_, i) => String.fromCodePoint(0x370 + i)),
    ...Array.from({ length: 0x200 }, (_, i) => String.fromCodePoint(0x1e00 + i)),
    ...Array.from({ length: 0x100 }, (_, i) => String.fromCodePoint(0x2000 + i)),
    ...Array.from({ length: 0x50 }, (_, i) => String.fromCodePoint(0xfb00 + i)),
    ...'각가각\u0b47\u0b3e\u0b57\u0dd9\u0dcf\u0dca\u0345İıΣσςϹ𝚺’ʼ\u00ad\u200d\u034f\u0f71\u0f72\u0f73\u0344😀𝐀\u{1D165}\u{1D16D}',
  ];
  for (const options of [
    { lowercase: true, stripAccents: true },
    { lowercase: true, stripAccents: false },
    { lowercase: false, stripAccents: true },
    { lowercase: false, stripAccents: false },
  ]) {
    it(`equals normalizeText on random strings, ${JSON.stringify(options)}`, async () => {
      const random = new Random(3);
      const texts = Array.from({ length: 6000 }, () =>
        Array.from({ length: 1 + random.int(6) }, () => POOL[random.int(POOL.length)]).join(''),
      );
      const got = await normalizeInGraph(options, texts);
      const wrong = texts.filter((t, i) => got[i] !== normalizeText(t, options));
      expect(
        wrong.slice(0, 5).map((t) => [...t].map((c) => c.codePointAt(0)!.toString(16)).join(' ')),
      ).toEqual([]);
    });
  }
  it('composes decomposed text, and Σ at a word end, as normalizeText does', async () => {
    const texts = [
      'Ecole\u0301 E\u0301COLE',
      'ΟΔΟΣ ΣΑΣ. ΑΣ\u0301',
      'a\u0301\u0316 a\u0316\u0301 e\u0301\u0323',
      '\u1100\u1161\u11a8',
    ];
    for (const options of [
      { lowercase: true, stripAccents: false },
      { lowercase: true, stripAccents: true },
    ]) {
      expect(await normalizeInGraph(options, texts)).toEqual(texts.map((t) => normalizeText(t, options)));
    }
  });

  it('differs in one known case: accents stripped, a class-0 mark between two spacing marks', async () => {
    // NFKD does not reorder U+1D16D (class 226) and U+1D165 (216) across U+034F, a class-0 mark the
    // stripping then removes; the graph has removed it before it reorders.
    const options = { lowercase: true, stripAccents: true };
    const text = 'a\u{1D16D}\u034f\u{1D165}';
    const [got] = await normalizeInGraph(options, [text]);
    expect(normalizeText(text, options)).toBe('a\u{1D16D}\u{1D165}');
    expect(got).toBe('a\u{1D165}\u{1D16D}');
  });
});

describe('word tokens graph', () => {
  const POOL = [
    ..."aeilnqudjstcmLQUDJSTé_1'’ʼ‘ ,.-\u0301\u00a0😀𝐀中ΣΟß",
    "'",
    "'",
    'qu',
    'jusqu',
    'lorsqu',
    'l',
    'd',
  ];
  for (const options of [
    { lowercase: true, stripAccents: true, minTokenLength: 2, elisions: 'keep' },
    { lowercase: false, stripAccents: false, minTokenLength: 1, elisions: 'keep' },
    { lowercase: true, stripAccents: false, minTokenLength: 1, elisions: 'drop' },
    { lowercase: false, stripAccents: true, minTokenLength: 3, elisions: 'drop' },
  ] as const) {
    it(`equals tokenize(normalizeText) on random strings, ${JSON.stringify(options)}`, async () => {
      const g = new GraphBuilder(['text']);
      const tokens = wordTokens(g, normalizedCodePoints(g, 'text', options), options);
      const bytes = onnx.ModelProto.encode(
        onnx.ModelProto.create({
          irVersion: 9,
          opsetImport: g.opsetImports(20),
          graph: g.graph('tokens', [valueInfo('text', STRING, ['N', 1])], [valueInfo(tokens, STRING)]),
        }),
      ).finish();
      const s = await InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
      sessions.push(s);
      const random = new Random(4);
      const texts = Array.from({ length: 5000 }, () =>
        Array.from({ length: random.int(14) }, () => POOL[random.int(POOL.length)]).join(''),
      );
      const out = await s.run({ text: new Tensor('string', texts, [texts.length, 1]) });
      const rows: string[][] = [];
      for (const token of out[tokens].data as string[]) {
        if (token === ROW) rows.push([]);
        else rows[rows.length - 1].push(token);
      }
      const wrong = texts.filter(
        (t, i) => JSON.stringify(rows[i]) !== JSON.stringify(tokenize(normalizeText(t, options), options)),
      );
      expect(wrong.slice(0, 5)).toEqual([]);
    });
  }
});

describe('character tables', () => {
  it('predict toLowerCase’s final sigma beside a Σ for BMP characters', () => {
    const { classes, sigmas } = sigmaContextTable();
    const cls = (c: string) => classes.get(c) ?? 0;
    // The graph decides on the NFKC form (what toLowerCase sees in normalizeText).
    const lower = (s: string) => s.normalize('NFKC').toLowerCase().includes('ς');
    for (let cp = 0; cp < 0x10000; cp += cp < 0x3000 ? 1 : 7) {
      if (cp >= 0xd800 && cp < 0xe000) continue;
      const x = String.fromCodePoint(cp);
      if (sigmas.includes(x) || x.normalize('NFKC').toLowerCase().includes('ς')) continue;
      const c = cls(x);
      const ignorable = (c & 4) !== 0;
      // Preceded by x (then '!', neither cased nor ignorable) / by x then 'A'.
      expect(lower(`!${x}Σ`), `U+${cp.toString(16)}`).toBe(!ignorable && (c & 2) !== 0);
      expect(lower(`A${x}Σ`), `U+${cp.toString(16)}`).toBe(ignorable || (c & 2) !== 0);
      // Followed by x (then nothing / then a cased letter).
      expect(lower(`AΣ${x}`), `U+${cp.toString(16)}`).toBe(ignorable || (c & 1) === 0);
      expect(lower(`AΣ${x}a`), `U+${cp.toString(16)}`).toBe(!ignorable && (c & 1) === 0);
    }
  });

  it('map each character as normalizeText maps it alone', () => {
    for (const options of [
      { lowercase: true, stripAccents: true },
      { lowercase: false, stripAccents: true },
    ]) {
      const table = normalizationTable(options);
      for (const c of ['É', 'ﬁ', '’', 'Ⅻ', '𝐀', '\u0301', 'Œ', '½', 'ǅ', 'a']) {
        expect(table.get(c) ?? c).toBe(normalizeText(c, options));
      }
    }
    expect(elisionKeys(true)).toContain('jusqu');
    expect(elisionKeys(false)).toContain('JuSqU');
  });
});
