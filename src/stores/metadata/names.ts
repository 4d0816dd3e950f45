import { RegistryError } from './store.js';

// Model names end up in artifact keys and URLs (name@alias), so they stay within a portable set.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkModelName(name: string): string {
  if (!NAME.test(name))
    throw new RegistryError(
      `invalid model name "${name}": use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  return name;
}

/** Aliases share the name rules and may not be all digits: `name@3` means version 3. */
export function checkAliasName(alias: string): string {
  if (!NAME.test(alias) || /^\d+$/.test(alias))
    throw new RegistryError(
      `invalid alias "${alias}": use 1-128 letters, digits, '.', '_' or '-', not only digits (those are versions)`,
    );
  return alias;
}

export function checkTagKey(key: string): string {
  if (!NAME.test(key))
    throw new RegistryError(`invalid tag key "${key}": use 1-128 letters, digits, '.', '_' or '-'`);
  return key;
}
