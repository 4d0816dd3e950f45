import { pointerSegment } from '../../data/cells.js';

/**
 * What the server echoes back and how it reads JSON bodies. Anything a client sent (a field name, a
 * value, a header) is clipped before it is echoed, so an error response stays small whatever the
 * request; JSON keys that would reach an object's prototype are refused by name, not as malformed JSON.
 */

/** Longest client-sent text echoed in a response, in characters. */
export const ECHO_LIMIT = 200;

/** `text`, or its first `max` characters and how many were left out. */
export function clip(text: string, max = ECHO_LIMIT): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}

/** A body the server refuses to read, answered with `statusCode` and the message. */
export class BodyError extends Error {
  readonly statusCode = 400;
}

// Only texts that may hold such a key are walked (a `\u` escape can spell one).
const MAY_POISON = /__proto__|constructor|\\u/;

/**
 * JSON text → value. Malformed JSON names the parser's reason; a `__proto__` key, or a `constructor`
 * key holding a `prototype` (what Fastify's own parser refuses), is named with its place.
 */
export function parseJson(text: string): unknown {
  if (text.trim() === '') throw new BodyError('the body is empty: send a JSON record');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BodyError(`malformed JSON body: ${clip((error as Error).message)}`);
  }
  if (MAY_POISON.test(text)) {
    const refused = prototypeKey(value, '');
    if (refused !== null)
      throw new BodyError(
        `the key ${refused} is refused: it names an object prototype, which no model field may use; rename or remove it`,
      );
  }
  return value;
}

/** `"__proto__" at /0` (or the constructor form) for the first such key, else null. */
function prototypeKey(root: unknown, rootPath: string): string | null {
  const stack: [unknown, string][] = [[root, rootPath]];
  while (stack.length > 0) {
    const [node, at] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    const where = at === '' ? '/' : clip(at);
    if (Object.hasOwn(node, '__proto__')) return `"__proto__" at ${where}`;
    const ctor = (node as { constructor?: unknown }).constructor;
    if (
      Object.hasOwn(node, 'constructor') &&
      typeof ctor === 'object' &&
      ctor !== null &&
      Object.hasOwn(ctor, 'prototype')
    )
      return `"constructor" (holding "prototype") at ${where}`;
    for (const [key, child] of Object.entries(node)) stack.push([child, `${at}/${pointerSegment(key)}`]);
  }
  return null;
}
