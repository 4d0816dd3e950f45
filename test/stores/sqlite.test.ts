import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMetadataStore } from '../../src/stores/metadata/index.js';
import { MIGRATIONS } from '../../src/stores/metadata/migrations.js';
import { openSqlite } from '../../src/util/sqlite.js';
import { OLD_ROWS, OLD_SQLITE_MIGRATIONS } from './fixtures/old-metadata-schema.js';
import { metadataStoreContract } from './metadata-contract.js';
import { expectOldRowsKept } from './upgrade.js';

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
    const db = openSqlite(file);
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

  it('opens a file an older Kiln created (schema version 2), migrates it forward and keeps its rows', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-meta-'));
    const file = path.join(dir, 'kiln.db');
    const old = openSqlite(file);
    old.pragma('journal_mode = WAL');
    old.pragma('foreign_keys = ON');
    for (const migration of OLD_SQLITE_MIGRATIONS) old.exec(migration);
    old.pragma(`user_version = ${OLD_SQLITE_MIGRATIONS.length}`);
    for (const row of OLD_ROWS) old.exec(row);
    old.close();

    const store = openMetadataStore('sqlite://kiln.db', dir);
    try {
      await expectOldRowsKept(store);
    } finally {
      await store.close();
    }
    const after = openSqlite(file, { readOnly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    after.close();
  });

  it('gives a new file and an upgraded one the same tables, columns and indexes', async () => {
    const shape = (file: string) => {
      const db = openSqlite(file, { readOnly: true });
      const tables = db
        .prepare("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        .all() as { name: string; type: string }[];
      const columns = tables
        .filter((t) => t.type === 'table')
        .map((t) => [
          t.name,
          db.prepare(`SELECT name, type, "notnull", pk FROM pragma_table_info(?)`).all(t.name),
        ]);
      db.close();
      return { tables, columns };
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-meta-'));
    const old = openSqlite(path.join(dir, 'old.db'));
    for (const migration of OLD_SQLITE_MIGRATIONS) old.exec(migration);
    old.pragma(`user_version = ${OLD_SQLITE_MIGRATIONS.length}`);
    old.close();
    await openMetadataStore('sqlite://old.db', dir).close();
    await openMetadataStore('sqlite://new.db', dir).close();
    expect(shape(path.join(dir, 'old.db'))).toEqual(shape(path.join(dir, 'new.db')));
  });

  it('rejects unknown URI schemes with the supported list', () => {
    expect(() => openMetadataStore('mongodb://x', '.')).toThrow(/supported: sqlite/);
  });
});
