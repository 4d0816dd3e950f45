/**
 * A small text-classification package: seeded French-like questions for four intents, TF-IDF words
 * and characters, multinomial logistic regression; trained in a temp folder.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseProject } from '../../../src/config/load.js';
import { textRouteSchema } from '../../../src/serving/server/config.js';
import { trainProject } from '../../../src/training/train.js';
import { Random } from '../../../src/util/random.js';
import { tempDir } from './fixture.js';

export const TEXT_MODEL = 'intent-demo';

/** The posos `/intent` contract on the demo model, with its page at `/`. */
export const intentRoute = textRouteSchema.parse({
  path: '/intent',
  model: TEXT_MODEL,
  column: 'question',
  field: 'question',
  batchField: 'questions',
  label: 'intent',
  page: '/',
  title: 'Intentions',
});

const INTENTS: Record<string, string[]> = {
  posologie: ['dose', 'combien', 'comprimés', 'par jour', 'posologie', 'prendre'],
  effets: ['effets secondaires', 'nausées', 'vertiges', "l'effet", 'indésirables', 'réaction'],
  grossesse: ['enceinte', 'grossesse', 'allaitement', 'bébé', "l'enfant", 'pendant'],
  interaction: ['avec', 'alcool', 'mélanger', 'interaction', "d'autres", 'ensemble'],
};
const FILLER = [
  'est-ce que',
  'je',
  'peux',
  'le',
  'la',
  'du',
  'doliprane',
  'ibuprofène',
  'médicament',
  'quel',
  'svp',
];

export function textQuestions(n: number, seed: number): { question: string; intent: string }[] {
  const random = new Random(seed);
  const names = Object.keys(INTENTS);
  return Array.from({ length: n }, () => {
    const intent = names[random.below(names.length)];
    const words = Array.from({ length: 3 + random.below(4) }, () =>
      random.below(3) === 0
        ? FILLER[random.below(FILLER.length)]
        : INTENTS[intent][random.below(INTENTS[intent].length)],
    );
    return { question: `${words.join(' ')} ?`, intent };
  });
}

/**
 * Trains the package in a temp folder (or `dir`); returns its folder. `ids`: the rows carry an integer
 * `ID` column, the project's id column, as posos' do.
 */
export async function trainTextPackage(
  options: { name?: string; ids?: boolean; dir?: string } = {},
): Promise<string> {
  const dir = options.dir ?? tempDir();
  const rows = textQuestions(600, 1);
  const cell = (text: string) => `"${text.replaceAll('"', '""')}"`;
  writeFileSync(
    path.join(dir, 'questions.csv'),
    options.ids
      ? `ID,question,intent\n${rows.map((r, i) => `${i},${cell(r.question)},${r.intent}`).join('\n')}\n`
      : `question,intent\n${rows.map((r) => `${cell(r.question)},${r.intent}`).join('\n')}\n`,
  );
  const project = parseProject({
    name: options.name ?? TEXT_MODEL,
    data: {
      source: { path: 'questions.csv' },
      ...(options.ids ? { id: 'ID' } : {}),
      schema: {
        ...(options.ids ? { ID: { type: 'integer', nullable: false } } : {}),
        question: { type: 'text', nullable: false },
        intent: { type: 'category', nullable: false },
      },
    },
    target: { column: 'intent' },
    split: { strategy: 'stratified', folds: 3 },
    features: [
      { step: 'tfidf', column: 'question', analyzer: 'word', ngramRange: [1, 2], sublinearTf: true },
      { step: 'tfidf', column: 'question', analyzer: 'char_wb', ngramRange: [2, 4], sublinearTf: true },
    ],
    model: { family: 'logistic_regression', params: { C: 10 } },
    evaluation: { headline: 'f1_macro', bootstrap: 20 },
    registry: { register: 'never' },
    stores: { metadata: 'sqlite://kiln.db', artifacts: 'file://artifacts' },
  });
  const result = await trainProject({ project, dir, configFile: path.join(dir, 'kiln.yaml') });
  if (!result.packageDir) throw new Error('training wrote no package');
  return result.packageDir;
}
