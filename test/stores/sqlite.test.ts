import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openMetadataStore } from '../../src/stores/metadata/index.js';
import { metadataStoreContract } from './metadata-contract.js';

metadataStoreContract('sqlite (file)', async () =>
  openMetadataStore('sqlite://kiln.db', mkdtempSync(path.join(tmpdir(), 'kiln-meta-'))),
);
metadataStoreContract('sqlite (memory)', async () => openMetadataStore('sqlite://:memory:', '.'));

describe('sqlite metadata store', () => {
  it('keeps runs across reopen and migrates once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-meta-'));
    const first = openMetadataStore('sqlite://nested/kiln.db', dir);
    const run = await first.createRun({
      project: 'p',
      kind: 'train',
      seed: 0,
      config: {},
      codeVersion: 'x',
      dependencies: {},
    });
    await first.close();
    const second = openMetadataStore('sqlite://nested/kiln.db', dir);
    expect((await second.getRun(run.id))?.project).toBe('p');
    await second.close();
  });

  it('refuses a database migrated by a newer Kiln', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-meta-'));
    const file = path.join(dir, 'kiln.db');
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    expect(() => openMetadataStore('sqlite://kiln.db', dir)).toThrow(
      /schema version 99, newer than this Kiln knows/,
    );
  });

  it('finds runs by an exact id prefix only (no LIKE wildcards)', async () => {
    const store = openMetadataStore('sqlite://:memory:', '.');
    const run = await store.createRun({
      project: 'p',
      kind: 'train',
      seed: 0,
      config: {},
      codeVersion: 'x',
      dependencies: {},
    });
    expect(await store.getRun('%')).toBeUndefined();
    expect(await store.getRun('_')).toBeUndefined();
    expect((await store.getRun(run.id.slice(0, 4)))?.id).toBe(run.id);
    await store.close();
  });

  it('rejects unknown URI schemes with the supported list', () => {
    expect(() => openMetadataStore('mongodb://x', '.')).toThrow(/supported: sqlite/);
  });
});
