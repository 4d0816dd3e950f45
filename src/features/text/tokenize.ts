/**
 * Word tokens for the `word` analyzer: runs of letters, digits, marks and "_" (scikit-learn's `\w`),
 * everything else separates tokens. An apostrophe between two word characters stays inside the word
 * ("aujourd'hui", "prud'hommes") unless what precedes it is a French elided word (l', d', qu', ...),
 * which is split off: "l'épilepsie" → "l'" + "épilepsie".
 */

export interface TokenizeOptions {
  /**
   * Shorter tokens are dropped. 2 (the default) matches scikit-learn's `token_pattern`
   * `(?u)\b\w\w+\b`, which drops one-character tokens such as "a", "à", "y" or a digit.
   */
  readonly minTokenLength?: number;
  /**
   * `keep` (the default) keeps an elided word as its own token, with a straight apostrophe ("l'",
   * "qu'", "n'"): it is the short form of "le/la", "que", "ne", which are tokens when written in full,
   * and "n'" marks a negation word bigrams can use ("n' est"). `drop` removes it, as Lucene's French
   * ElisionFilter does. On the posos intents both score the same (5-fold CV, linear SVM).
   */
  readonly elisions?: 'keep' | 'drop';
}

/** Words that elide before a vowel or mute h; matched case-insensitively. */
export const ELIDED_WORDS: ReadonlySet<string> = new Set([
  'c',
  'd',
  'j',
  'l',
  'm',
  'n',
  's',
  't',
  'qu',
  'jusqu',
  'lorsqu',
  'puisqu',
  'quoiqu',
]);

const WORD = /[\p{L}\p{N}\p{M}_]+(?:['\u2018\u2019\u02bc][\p{L}\p{N}\p{M}_]+)*/gu;
const APOSTROPHE = /['\u2018\u2019\u02bc]/;
const APOSTROPHES = /[\u2018\u2019\u02bc]/g;
const SURROGATE = /[\ud800-\udfff]/;

export function tokenize(text: string, options: TokenizeOptions = {}): string[] {
  const minLength = options.minTokenLength ?? 2;
  const keepElided = (options.elisions ?? 'keep') === 'keep';
  const tokens: string[] = [];
  const push = (token: string) => {
    if (longEnough(token, minLength)) tokens.push(token);
  };
  for (const word of text.match(WORD) ?? []) {
    let rest = word;
    let cut = rest.search(APOSTROPHE);
    while (cut > 0) {
      const head = rest.slice(0, cut);
      if (!ELIDED_WORDS.has(head.toLowerCase())) break;
      if (keepElided) push(`${head}'`);
      rest = rest.slice(cut + 1);
      cut = rest.search(APOSTROPHE);
    }
    push(cut < 0 ? rest : rest.replace(APOSTROPHES, "'"));
  }
  return tokens;
}

/** Length in code points, as Python counts characters; UTF-16 length only overcounts astral ones. */
function longEnough(token: string, minLength: number): boolean {
  if (token.length < minLength) return false;
  if (token.length >= 2 * minLength || !SURROGATE.test(token)) return true;
  return Array.from(token).length >= minLength;
}
