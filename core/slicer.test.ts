import { describe, expect, it } from 'vitest';
import { slicer } from './slicer.ts';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe('slicer', () => {
  it('lets I/O and timers run between slices of a long loop', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('other work'));
    const pause = slicer(5);
    for (let i = 0; i < 10; i++) {
      busy(2);
      order.push(`item ${i}`);
      await pause();
    }
    const at = order.indexOf('other work');
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(order.length - 1);
  });

  it('does not yield while the slice lasts', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('other work'));
    const pause = slicer(60_000);
    for (let i = 0; i < 100; i++) {
      order.push(`item ${i}`);
      const p = pause();
      expect(p).toBeUndefined();
      await p;
    }
    expect(order).not.toContain('other work');
  });
});
