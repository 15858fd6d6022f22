/**
 * Leading and trailing throttle: the first call runs at once, calls within `ms` of the last run are folded into one
 * run at the end of the interval. Charts redraw promptly on the first data and at a bounded rate afterwards.
 */
export function throttle(fn: () => void, ms: number): { (): void; cancel(): void } {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = (): void => {
    timer = undefined;
    last = performance.now();
    fn();
  };
  const call = (): void => {
    if (timer) return;
    const wait = last + ms - performance.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  call.cancel = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  return call;
}
