/**
 * Vitest global setup: every test run gets its own temporary root (TMPDIR, inherited by the test
 * forks and every process they spawn), removed when the run ends, so a test that forgets to clean
 * its folders, or a process killed on purpose, leaves nothing behind in the system's temp folder.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(path.join(tmpdir(), 'kiln-test-'));
  // As /tmp itself: the servers the tests start as another user (PostgreSQL) make their folders here.
  chmodSync(root, 0o1777);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
