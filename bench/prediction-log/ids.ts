/**
 * Why prediction ids are time-ordered and the SQLite log keeps a small page cache: 600,000 prediction
 * rows inserted in transactions of 1,000 into the log's table (same columns and indexes as
 * src/monitoring/prediction-log/sqlite.ts), with random UUIDv4 or time-ordered UUIDv7 primary keys and
 * a 16 MB page cache (better-sqlite3's default, which Kiln used before) or 2 MB. Each case is a fresh process; prints the time and
 * the process's RSS at the end.
 *
 *   npx tsx bench/prediction-log/ids.ts
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqlite } from '../../src/util/sqlite.js';
import { uuid7 } from '../../src/util/uuid7.js';

const ROWS = 600_000;
const BATCH = 1_000;

function runCase(ids: 'v4' | 'v7', cache: 'default' | '2MB'): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-log-ids-'));
  try {
    const db = openSqlite(path.join(dir, 'log.db'));
    db.pragma('journal_mode = WAL');
    db.pragma(cache === '2MB' ? 'cache_size = -2000' : 'cache_size = -16000');
    db.exec(`CREATE TABLE predictions (id TEXT PRIMARY KEY, time TEXT NOT NULL, model TEXT NOT NULL,
      version TEXT NOT NULL, input TEXT NOT NULL, output TEXT NOT NULL, label TEXT, latency_ms REAL NOT NULL);
      CREATE INDEX predictions_model_time ON predictions(model, time);
      CREATE INDEX predictions_time ON predictions(time);`);
    const insert = db.prepare(
      'INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    const input = JSON.stringify({ deposits: 50, withdrawals: 20, stakes: 100, product: 'bet', age: '<30' });
    const output = JSON.stringify({ label: '1', probabilities: { '0': 0.5, '1': 0.5 } });
    const newId = ids === 'v4' ? randomUUID : () => uuid7();
    const started = performance.now();
    const batch = db.transaction(() => {
      for (let i = 0; i < BATCH; i++)
        insert.run(newId(), new Date().toISOString(), 'customer-risk', '1', input, output, '1', 1.2);
    });
    for (let b = 0; b < ROWS / BATCH; b++) batch();
    const seconds = (performance.now() - started) / 1000;
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
    db.close();
    console.log(
      `${ids}  cache ${cache.padEnd(7)}  ${seconds.toFixed(1).padStart(5)} s  RSS ${rss.toFixed(1)} MiB`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [ids, cache] = process.argv.slice(2);
if (ids) {
  runCase(ids as 'v4' | 'v7', cache as 'default' | '2MB');
} else {
  console.log(`${ROWS.toLocaleString('en')} rows in transactions of ${BATCH}, one fresh process per case`);
  for (const [i, c] of [
    ['v4', 'default'],
    ['v4', '2MB'],
    ['v7', 'default'],
    ['v7', '2MB'],
  ]) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), i, c], {
      encoding: 'utf8',
    });
    process.stdout.write(out);
  }
}
