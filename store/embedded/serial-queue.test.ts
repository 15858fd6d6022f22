import { describe, expect, it } from 'vitest';
import { SerialQueue } from './serial-queue.ts';

describe('SerialQueue', () => {
  it('runs tasks one at a time in submission order', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const task = (name: string, ticks: number) => async () => {
      log.push(`start ${name}`);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([q.run(task('a', 3)), q.run(task('b', 0)), q.run(task('c', 1))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('reports a failure to its caller only and keeps going', async () => {
    const q = new SerialQueue();
    const failed = q.run(async () => {
      throw new Error('boom');
    });
    const next = q.run(async () => 'next');
    expect(q.depth).toBe(2);
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
    await q.idle();
    expect(q.depth).toBe(0);
  });
});
