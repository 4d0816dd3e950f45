import type { FitOptions, FitProgress } from './family.js';

/** How long a fit may compute on the calling thread before it lets the event loop turn (tests lower it). */
export const fitControlSettings = { sliceMs: 50 };

/**
 * What a long synchronous solver calls between iterations: throws the abort reason once the signal
 * fires, reports progress, and every `sliceMs` yields to the event loop so that timers, I/O and the
 * abort itself get their turn. Yielding never changes what the solver computes.
 */
export interface FitControl {
  /** Call after each unit of work (`done` so far); resolves at once unless a slice is used up. */
  tick(done: number, loss?: number): Promise<void>;
  /** Throws the abort reason if the fit was aborted. */
  check(): void;
}

export function fitControl(
  options: Pick<FitOptions<unknown>, 'signal' | 'onProgress'>,
  unit: FitProgress['unit'],
  total?: number,
): FitControl {
  const { signal, onProgress } = options;
  let sliceStart = performance.now();
  return {
    check: () => signal?.throwIfAborted(),
    async tick(done, loss) {
      signal?.throwIfAborted();
      onProgress?.({ done, total, unit, ...(loss === undefined ? {} : { loss }) });
      // The listener itself may have aborted.
      signal?.throwIfAborted();
      if (performance.now() - sliceStart < fitControlSettings.sliceMs) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
      signal?.throwIfAborted();
    },
  };
}
