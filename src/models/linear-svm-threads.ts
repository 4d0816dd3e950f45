import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerModuleImport } from '../util/worker.js';
import type { FitControl } from './fit-control.js';
import { OvrSolver, type OvrTask } from './linear-svm-solver.js';

/**
 * linear_svm's binary problems on a pool of worker threads. Per fit, the task's arrays (CSR matrix,
 * labels, weights, outputs) live in SharedArrayBuffers; the task is posted to `threads - 1` workers and
 * the calling thread works too. Every thread claims the next unsolved problem from a shared counter,
 * solves it and writes its results into the shared outputs, then bumps a done counter (Atomics.add +
 * notify). The caller, between its own problems and once they are all claimed, awaits that counter
 * with Atomics.waitAsync in short slices, so the event loop keeps turning (progress, abort, heartbeats).
 * Workers report failures through shared memory (an error flag and the error's text), and a worker
 * that dies without a word (out of memory, terminated) shows as a stall: no solver pass anywhere for
 * `stallMs`. Any failure or an abort makes the fit throw and the pool is rebuilt for the next fit.
 *
 * Workers are started on first use, kept for later fits (start-up and JIT warm-up are paid once per
 * process) and unref'ed, so they never keep the process alive.
 */

/** Tuning and test hooks; tests lower `minWork` to exercise workers on small data. */
export const svmThreadSettings: {
  /**
   * Fits with less work than this (stored nonzeros, plus one a row for the intercept, times binary
   * problems, a calibration fold's problem counting (k - 1) / k) stay on the calling thread. A work
   * unit costs 40 ns over a whole solve on posos' matrix (6 s for 51 problems x 2.8M nonzeros) and up
   * to ~150 ns on small problems that take more passes, so 1M units is ~0.05-0.15 s on one thread.
   * Below that, a cold worker (~55 ms from start to module loaded, compiled, then JIT warm-up) arrives
   * when the calling thread has done most of the work, and the per-fit costs (the matrix copied to
   * shared memory, each worker's pass over it for the row norms, posting the job) eat what is left.
   */
  minWork: number;
  /** A fit fails when no thread has finished a pass for this long while problems are outstanding. */
  stallMs: number;
  /** Whether the calling thread solves problems too while the workers do (tests turn it off). */
  callerSolves: boolean;
  /** Tests only: each worker fails on its first problem, by throwing or by ending its thread. */
  fault?: 'throw' | 'exit';
} = { minWork: 1_000_000, stallMs: 60_000, callerSolves: true };

/**
 * Threads for a fit: `requested` (the model's `threads` param), else the KILN_THREADS environment
 * variable, else os.availableParallelism(); at most one per problem, and 1 below `minWork`.
 */
export function resolveThreads(requested: number | undefined, problems: number, work: number): number {
  let threads = requested;
  if (threads === undefined) {
    const env = process.env.KILN_THREADS?.trim();
    if (env) {
      threads = Number(env);
      if (!Number.isInteger(threads) || threads < 1)
        throw new Error(`KILN_THREADS must be a positive integer (1 = no worker threads), got "${env}"`);
    } else {
      threads = availableParallelism();
    }
  }
  if (work < svmThreadSettings.minWork) return 1;
  return Math.max(1, Math.min(threads, problems));
}

/**
 * Solves every problem of `task`, on this thread alone when threads is 1 (then nothing is shared);
 * `control` hears of each finished problem and may stop the fit.
 */
export async function solveTask(task: OvrTask, threads: number, control: FitControl): Promise<void> {
  if (threads <= 1) {
    const solver = new OvrSolver(task);
    for (let t = 0; t < task.group.length; t++) {
      solver.solve(t);
      await control.tick(t + 1);
    }
    return;
  }
  await pool.run(task, threads, control);
}

/** Copies a typed array into shared memory (as is when it already is). */
export function shared<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(a: T): T;
export function shared<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(a: T | null): T | null;
export function shared<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(
  a: T | null,
): T | null {
  if (a === null || a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const copy = new Ctor(new SharedArrayBuffer(a.byteLength));
  copy.set(a as never);
  return copy;
}

// Slots of a job's control array.
const NEXT = 0; // next problem to claim
const DONE = 1; // problems finished
const PASSES = 2; // solver passes finished, all threads (progress, for stall detection)
const STOP = 3; // set by the first thread to fail: claim nothing more
const FAILED = 4; // set once that thread's error text is written
const ERROR_LENGTH = 5;
const CONTROL_SLOTS = 6;
const ERROR_BYTES = 4096;

/** What a worker receives for one fit. */
export interface SvmJob {
  task: OvrTask;
  control: Int32Array;
  errorText: Uint8Array;
  fault?: 'throw' | 'exit';
}

/**
 * Claims and solves one problem; false when none is left or a thread has failed. Errors propagate;
 * the caller reports them with `reportFailure`.
 */
function claimProblem(job: SvmJob, worker: boolean, solvers: { solver?: OvrSolver }): boolean {
  const { control } = job;
  const total = job.task.group.length;
  if (Atomics.load(control, STOP) !== 0) return false;
  if (Atomics.load(control, NEXT) >= total) return false;
  // Built after the first check, so a worker that arrives after every problem is taken does no work.
  solvers.solver ??= new OvrSolver(job.task, () => {
    Atomics.add(control, PASSES, 1);
  });
  const t = Atomics.add(control, NEXT, 1);
  if (t >= total) return false;
  if (worker && job.fault === 'throw') throw new Error('injected fault (test)');
  if (worker && job.fault === 'exit') process.exit(1);
  solvers.solver.solve(t);
  Atomics.add(control, DONE, 1);
  Atomics.notify(control, DONE);
  return true;
}

/** Stops the job; the first failing thread's error becomes the fit's error. */
function reportFailure(job: SvmJob, error: unknown): void {
  const { control, errorText } = job;
  if (Atomics.compareExchange(control, STOP, 0, 1) === 0) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    const bytes = new TextEncoder().encode(text).subarray(0, errorText.length);
    errorText.set(bytes);
    Atomics.store(control, ERROR_LENGTH, bytes.length);
    Atomics.store(control, FAILED, 1);
  }
  Atomics.notify(control, DONE);
}

/** A worker's handler for one job (linear-svm-worker.ts). */
export function workOnJob(job: SvmJob): void {
  try {
    const solvers = {};
    while (claimProblem(job, true, solvers));
  } catch (error) {
    reportFailure(job, error);
  }
}

class SvmWorkerPool {
  private workers: Worker[] = [];
  /** Workers started since the process began (tests check that fits reuse them). */
  started = 0;

  get size(): number {
    return this.workers.length;
  }

  async run(task: OvrTask, threads: number, fit: FitControl): Promise<void> {
    const helpers = threads - 1;
    while (this.workers.length < helpers) {
      const worker = startWorker();
      this.started++;
      this.workers.push(worker);
      // A worker gone is replaced at the next fit; one that dies during a fit is caught by the stall check.
      worker.on('exit', () => {
        this.workers = this.workers.filter((w) => w !== worker);
      });
    }
    const job: SvmJob = {
      task,
      control: new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4)),
      errorText: new Uint8Array(new SharedArrayBuffer(ERROR_BYTES)),
      fault: svmThreadSettings.fault,
    };
    for (let w = 0; w < helpers; w++) this.workers[w].postMessage(job);
    try {
      if (svmThreadSettings.callerSolves) {
        try {
          const solvers = {};
          while (claimProblem(job, false, solvers)) await fit.tick(Atomics.load(job.control, DONE));
        } catch (error) {
          Atomics.store(job.control, STOP, 1);
          throw error;
        }
      }
      await this.wait(job, fit);
    } catch (error) {
      // Workers may be stuck in a problem of this job, or dead: start afresh next time.
      this.reset();
      throw error;
    }
  }

  private async wait(job: SvmJob, fit: FitControl): Promise<void> {
    const { control } = job;
    const total = job.task.group.length;
    const { stallMs } = svmThreadSettings;
    let passes = Atomics.load(control, PASSES);
    let lastProgress = performance.now();
    for (;;) {
      const done = Atomics.load(control, DONE);
      if (Atomics.load(control, FAILED) !== 0) {
        const length = Atomics.load(control, ERROR_LENGTH);
        const text = new TextDecoder().decode(job.errorText.slice(0, length));
        throw new Error(`linear_svm: a worker thread failed while solving the binary problems: ${text}`);
      }
      if (done >= total) return;
      const waited = Atomics.waitAsync(control, DONE, done, Math.min(100, stallMs));
      if (waited.async) await waited.value;
      await fit.tick(Atomics.load(control, DONE));
      const now = performance.now();
      const latest = Atomics.load(control, PASSES);
      if (latest !== passes) {
        passes = latest;
        lastProgress = now;
      } else if (now - lastProgress > stallMs && Atomics.load(control, DONE) < total) {
        Atomics.store(control, STOP, 1);
        throw new Error(
          `linear_svm: worker threads stopped making progress (no solver pass for ${(stallMs / 1000).toFixed(1)} s, ${total - Atomics.load(control, DONE)} of ${total} binary problems unfinished); a worker may have run out of memory or been terminated. KILN_THREADS=1 solves on the calling thread only`,
        );
      }
    }
  }

  private reset(): void {
    const workers = this.workers;
    this.workers = [];
    for (const worker of workers) void worker.terminate();
  }
}

const pool = new SvmWorkerPool();

/** Live workers and workers ever started in this process (for tests). */
export function svmPoolStats(): { workers: number; started: number } {
  return { workers: pool.size, started: pool.started };
}

/**
 * Starts a worker from the compiled module beside this one, or from the TypeScript sources (tests,
 * tsx) after registering tsx's loader. Messages that arrive before the module has loaded are queued;
 * if it fails to load, each job is failed through its shared memory (the blocked caller would never
 * see an 'error' event).
 */
function startWorker(): Worker {
  const load = workerModuleImport(new URL('./linear-svm-worker.js', import.meta.url));
  const source = `
const { parentPort } = require('node:worker_threads');
let handle = null;
let failure = null;
const queue = [];
const fail = ({ control, errorText }) => {
  if (Atomics.compareExchange(control, ${STOP}, 0, 1) === 0) {
    const bytes = new TextEncoder().encode('cannot load the worker module: ' + String((failure && failure.stack) || failure)).subarray(0, errorText.length);
    errorText.set(bytes);
    Atomics.store(control, ${ERROR_LENGTH}, bytes.length);
    Atomics.store(control, ${FAILED}, 1);
  }
  Atomics.notify(control, ${DONE});
};
parentPort.on('message', (job) => (handle ? handle(job) : failure ? fail(job) : queue.push(job)));
${load}.then(
  (module) => { handle = module.onJob; for (const job of queue.splice(0)) handle(job); },
  (error) => { failure = error; for (const job of queue.splice(0)) fail(job); },
);
`;
  const worker = new Worker(source, { eval: true, name: 'kiln linear_svm' });
  worker.unref();
  // Errors reach the fit through shared memory; an unhandled 'error' event would crash the process.
  worker.on('error', () => {});
  return worker;
}
