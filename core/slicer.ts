/**
 * Cooperative time slicing for long loops on the hub's one event loop:
 *
 *   const pause = slicer();
 *   for (const id of substations) { work(id); await pause(); }
 *
 * `pause()` yields to the event loop (setImmediate: sockets, timers and other I/O run) once `sliceMs` of work have
 * passed since the last yield, and otherwise returns nothing, so `await` costs one microtask. A loop over a city's
 * assets then never holds ingest, polling or the live feed for much longer than one slice.
 */
export function slicer(sliceMs = 10): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}
