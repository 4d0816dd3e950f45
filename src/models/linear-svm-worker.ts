/**
 * Entry of linear_svm's worker threads (started by linear-svm-threads.ts, which posts one job per fit:
 * the problems and their shared buffers). Solving and error reporting live there, beside the caller's
 * side of the same protocol.
 */
export { workOnJob as onJob } from './linear-svm-threads.js';
