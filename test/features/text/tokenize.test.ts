import { describe, expect, it } from 'vitest';
import { normalizeText } from '../../../src/features/text/normalize.js';
import { tokenize } from '../../../src/features/text/tokenize.js';

const lower = { lowercase: true, stripAccents: false };
const strip = { lowercase: true, stripAccents: true };

describe('normalizeText', () => {
  it('lower-cases capitals with their accents, and strips accents only when asked', () => {
    expect(normalizeText('ÉPILEPSIE', lower)).toBe('épilepsie');
    expect(normalizeText('ÉPILEPSIE', strip)).toBe('epilepsie');
    expect(normalizeText('ÉPILEPSIE', { lowercase: false, stripAccents: false })).toBe('ÉPILEPSIE');
    expect(normalizeText('Crème brûlée, œdème, Noël', lower)).toBe('crème brûlée, œdème, noël');
    // œ is a letter of its own (no decomposition), as in scikit-learn's strip_accents='unicode'.
    expect(normalizeText('Crème brûlée, œdème, Noël', strip)).toBe('creme brulee, œdeme, noel');
  });

  it('folds compatibility forms, decomposed accents and apostrophes; collapses whitespace', () => {
    expect(normalizeText('\ufb01\u00e8vre', lower)).toBe('fièvre');
    expect(normalizeText('fie\u0300vre 5\u00a0mg/m²', lower)).toBe('fièvre 5 mg/m2');
    expect(normalizeText('l\u2019hôpital l\u2018eau l\u02bcami', lower)).toBe("l'hôpital l'eau l'ami");
    expect(normalizeText('  deux\t\tmots \n', lower)).toBe('deux mots');
    expect(normalizeText('', strip)).toBe('');
  });
});

describe('tokenize', () => {
  it('splits French elisions with straight and curly apostrophes, keeping the elided word', () => {
    const text = normalizeText("L'épilepsie d\u2019un enfant qu'il a, jusqu\u2019à l\u2019hôpital", lower);
    expect(tokenize(text)).toEqual([
      "l'",
      'épilepsie',
      "d'",
      'un',
      'enfant',
      "qu'",
      'il',
      "jusqu'",
      "l'",
      'hôpital',
    ]);
    // Without normalizing first: curly apostrophes still split, the token gets a straight one.
    expect(tokenize('l\u2019hôpital s\u2019il')).toEqual(["l'", 'hôpital', "s'", 'il']);
    expect(tokenize("L'Hôpital QU'IL")).toEqual(["L'", 'Hôpital', "QU'", 'IL']);
  });

  it('drops the elided words on request', () => {
    expect(tokenize("l'épilepsie d\u2019un enfant n'est", { elisions: 'drop' })).toEqual([
      'épilepsie',
      'un',
      'enfant',
      'est',
    ]);
  });

  it('keeps an apostrophe inside a word that is not an elision, and chained elisions', () => {
    expect(tokenize("aujourd'hui prud\u2019hommes")).toEqual(["aujourd'hui", "prud'hommes"]);
    expect(tokenize("qu'l'a")).toEqual(["qu'", "l'"]);
    // Apostrophes used as quotes are punctuation.
    expect(tokenize("'dose' ou ' dose")).toEqual(['dose', 'ou', 'dose']);
  });

  it('separates on punctuation and keeps digits, dropping tokens shorter than minTokenLength', () => {
    const text = normalizeText('Doliprane 500mg, 3x/jour (1,5 g) ? à_jeun — y', lower);
    expect(tokenize(text)).toEqual(['doliprane', '500mg', '3x', 'jour', 'à_jeun']);
    expect(tokenize(text, { minTokenLength: 1 })).toEqual([
      'doliprane',
      '500mg',
      '3x',
      'jour',
      '1',
      '5',
      'g',
      'à_jeun',
      'y',
    ]);
    expect(tokenize('é a', { minTokenLength: 2 })).toEqual([]);
  });

  it('keeps accents unless the text was normalized with stripAccents', () => {
    const raw = 'Effets secondaires du Lévothyrox après l\u2019arrêt';
    expect(tokenize(normalizeText(raw, lower))).toEqual([
      'effets',
      'secondaires',
      'du',
      'lévothyrox',
      'après',
      "l'",
      'arrêt',
    ]);
    expect(tokenize(normalizeText(raw, strip))).toEqual([
      'effets',
      'secondaires',
      'du',
      'levothyrox',
      'apres',
      "l'",
      'arret',
    ]);
  });

  it('counts characters, not UTF-16 units, against minTokenLength', () => {
    expect(tokenize('\u{1d400} \u{1d400}\u{1d401}')).toEqual(['\u{1d400}\u{1d401}']);
  });
});
