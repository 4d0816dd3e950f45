import { checkAliasName, checkModelName } from '../stores/metadata/names.js';

/** `name@alias`, `name@3` (a version) or `name` (its latest version). */
export type ModelReference =
  | { name: string; kind: 'alias'; alias: string }
  | { name: string; kind: 'version'; version: number }
  | { name: string; kind: 'latest' };

/** True when `text` reads as a registry reference rather than a path (paths carry `/` or `.` prefixes). */
export function looksLikeReference(text: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9._-]+$/.test(text);
}

export function parseReference(text: string): ModelReference {
  const at = text.indexOf('@');
  if (at === -1) return { name: checkModelName(text), kind: 'latest' };
  const name = checkModelName(text.slice(0, at));
  const rest = text.slice(at + 1);
  if (/^\d+$/.test(rest)) return { name, kind: 'version', version: Number(rest) };
  return { name, kind: 'alias', alias: checkAliasName(rest) };
}

export function formatReference(ref: ModelReference): string {
  if (ref.kind === 'alias') return `${ref.name}@${ref.alias}`;
  if (ref.kind === 'version') return `${ref.name}@${ref.version}`;
  return ref.name;
}
