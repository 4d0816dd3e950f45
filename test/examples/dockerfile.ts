/**
 * A Dockerfile read into stages of instructions: the subset Kiln's Dockerfiles use (ARG, FROM … AS,
 * ENV, WORKDIR, COPY [--from] [--chown], RUN, USER, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD).
 * Anything else is an error, so the emulator never silently skips a step an image would run.
 */
import { readFileSync } from 'node:fs';

export type Instruction =
  | { kind: 'ENV'; vars: Record<string, string> }
  | { kind: 'ARG'; name: string; value?: string }
  | { kind: 'WORKDIR'; path: string }
  | { kind: 'COPY'; from?: string; chown?: string; sources: string[]; dest: string }
  | { kind: 'RUN'; command: string }
  | { kind: 'USER'; user: string }
  | { kind: 'VOLUME'; paths: string[] }
  | { kind: 'EXPOSE'; ports: number[] }
  | { kind: 'HEALTHCHECK'; options: Record<string, string>; command: string[] }
  | { kind: 'ENTRYPOINT'; args: string[] }
  | { kind: 'CMD'; args: string[] };

export interface Stage {
  /** `AS` name, else its index. */
  name: string;
  image: string;
  instructions: Instruction[];
  /** Source line of the FROM, for messages. */
  line: number;
}

export interface Dockerfile {
  file: string;
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string | undefined>;
  stages: Stage[];
}

/** Lines joined across `\` continuations, comments and blank lines dropped, with their first line. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | null = null;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (current === null && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== null && trimmed.startsWith('#')) return; // comment inside a continuation
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current === null) current = { line: i + 1, text: piece.trim() };
    else current.text += ` ${piece.trim()}`;
    if (!continued) {
      out.push(current);
      current = null;
    }
  });
  if (current !== null) out.push(current);
  return out;
}

/** `["a", "b"]` (exec form) → its strings; anything else is an error. */
function execForm(rest: string, where: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    throw new Error(`${where}: expected the exec form ["executable", "arg", ...], got ${rest}`);
  }
  if (!Array.isArray(parsed) || parsed.some((a) => typeof a !== 'string'))
    throw new Error(`${where}: expected a JSON list of strings`);
  return parsed as string[];
}

/** Leading `--name=value` flags of an instruction, and what follows them. */
function flags(rest: string): { flags: Record<string, string>; rest: string } {
  const found: Record<string, string> = {};
  let text = rest;
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s+/.exec(text);
    if (!m) return { flags: found, rest: text };
    found[m[1]] = m[2];
    text = text.slice(m[0].length);
  }
}

function unquote(value: string): string {
  return /^".*"$/.test(value) || /^'.*'$/.test(value) ? value.slice(1, -1) : value;
}

export function parseDockerfile(file: string): Dockerfile {
  const result: Dockerfile = { file, globalArgs: {}, stages: [] };
  for (const { line, text } of logicalLines(readFileSync(file, 'utf8'))) {
    const where = `${file}:${line}`;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(text);
    if (!m) throw new Error(`${where}: cannot read "${text}"`);
    const keyword = m[1].toUpperCase();
    const rest = m[2].trim();
    const stage = result.stages.at(-1);
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`${where}: FROM <image> [AS <name>] expected`);
      result.stages.push({
        name: from[2] ?? String(result.stages.length),
        image: from[1],
        instructions: [],
        line,
      });
      continue;
    }
    if (keyword === 'ARG') {
      const [name, value] = rest.split(/=(.*)/s);
      if (stage)
        stage.instructions.push({
          kind: 'ARG',
          name,
          value: value === undefined ? undefined : unquote(value),
        });
      else result.globalArgs[name] = value === undefined ? undefined : unquote(value);
      continue;
    }
    if (!stage) throw new Error(`${where}: ${keyword} before the first FROM`);
    const push = (instruction: Instruction) => stage.instructions.push(instruction);
    switch (keyword) {
      case 'ENV': {
        const vars: Record<string, string> = {};
        const pairs = rest.match(/[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|'[^']*'|\S*)/g);
        if (!pairs || pairs.join(' ').length < rest.replace(/\s+/g, ' ').length)
          throw new Error(`${where}: ENV KEY=value [KEY=value ...] expected`);
        for (const pair of pairs) {
          const [k, v] = pair.split(/=(.*)/s);
          vars[k] = unquote(v);
        }
        push({ kind: 'ENV', vars });
        break;
      }
      case 'WORKDIR':
        push({ kind: 'WORKDIR', path: rest });
        break;
      case 'COPY': {
        const parsed = flags(rest);
        for (const name of Object.keys(parsed.flags))
          if (name !== 'from' && name !== 'chown')
            throw new Error(`${where}: COPY --${name} is not emulated`);
        const parts = parsed.rest.trim().startsWith('[')
          ? execForm(parsed.rest, where)
          : parsed.rest.trim().split(/\s+/);
        if (parts.length < 2) throw new Error(`${where}: COPY <src>... <dest> expected`);
        push({
          kind: 'COPY',
          from: parsed.flags.from,
          chown: parsed.flags.chown,
          sources: parts.slice(0, -1),
          dest: parts.at(-1)!,
        });
        break;
      }
      case 'RUN':
        if (rest.startsWith('[')) throw new Error(`${where}: RUN in exec form is not emulated`);
        push({ kind: 'RUN', command: rest });
        break;
      case 'USER':
        push({ kind: 'USER', user: rest });
        break;
      case 'VOLUME':
        push({ kind: 'VOLUME', paths: rest.startsWith('[') ? execForm(rest, where) : rest.split(/\s+/) });
        break;
      case 'EXPOSE':
        push({ kind: 'EXPOSE', ports: rest.split(/\s+/).map((p) => Number.parseInt(p, 10)) });
        break;
      case 'HEALTHCHECK': {
        const parsed = flags(rest);
        const cmd = /^CMD\s+(.*)$/s.exec(parsed.rest.trim());
        if (!cmd) throw new Error(`${where}: HEALTHCHECK [options] CMD [...] expected`);
        push({ kind: 'HEALTHCHECK', options: parsed.flags, command: execForm(cmd[1], where) });
        break;
      }
      case 'ENTRYPOINT':
        push({ kind: 'ENTRYPOINT', args: execForm(rest, where) });
        break;
      case 'CMD':
        push({ kind: 'CMD', args: execForm(rest, where) });
        break;
      default:
        throw new Error(`${where}: ${keyword} is not emulated`);
    }
  }
  if (result.stages.length === 0) throw new Error(`${file}: no FROM`);
  return result;
}

/** The last instruction of a kind in a stage (ENTRYPOINT, CMD, USER, HEALTHCHECK: the last one wins). */
export function last<K extends Instruction['kind']>(
  stage: Stage,
  kind: K,
): Extract<Instruction, { kind: K }> | undefined {
  return stage.instructions.filter((i): i is Extract<Instruction, { kind: K }> => i.kind === kind).at(-1);
}
