/**
 * When a running run counts as abandoned. Its process beats every KILN_RUN_HEARTBEAT_SECONDS (see
 * heartbeat.ts); a run still `running` whose last heartbeat (or its start, when it never beat) is older
 * than 4 intervals is read as `abandoned`: its process was killed or its machine lost power. Derived at
 * read time, never written.
 */
import type { RunStatus } from './store.js';

/** How many missed heartbeats make a running run abandoned. */
export const STALE_AFTER_BEATS = 4;

/** KILN_RUN_HEARTBEAT_SECONDS, default 15. */
export function heartbeatSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KILN_RUN_HEARTBEAT_SECONDS;
  if (raw === undefined || raw === '') return 15;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`KILN_RUN_HEARTBEAT_SECONDS must be a number of seconds > 0, got "${raw}"`);
  return seconds;
}

/**
 * The status a run reads as at `now`: `running` turns `abandoned` once its last sign of life is older
 * than 4 intervals. The interval is the one the run's process recorded with its heartbeats; a run that
 * never beat is judged by this process's KILN_RUN_HEARTBEAT_SECONDS.
 */
export function runStatusAt(
  row: { status: string; started_at: string; heartbeat_at: string | null; heartbeat_seconds: number | null },
  now: number,
): RunStatus {
  const status = row.status as RunStatus;
  if (status !== 'running') return status;
  const alive = Date.parse(row.heartbeat_at ?? row.started_at);
  const interval = row.heartbeat_seconds ?? heartbeatSeconds();
  return now - alive > STALE_AFTER_BEATS * interval * 1000 ? 'abandoned' : 'running';
}
