import { describe, expect, it } from 'vitest';
import { AckGate } from './ack-gate.ts';

describe('AckGate', () => {
  it('holds each PUBACK until its message settles and releases them in receipt order', () => {
    const sent: number[] = [];
    const g = new AckGate((ids) => sent.push(...ids));
    const [a, b, c, d] = [11, 12, 13, 14].map((id) => g.receive(id));
    g.settle(c!);
    g.settle(b!);
    expect(sent).toEqual([]);
    expect(g.held).toBe(4);
    g.settle(a!);
    expect(sent).toEqual([11, 12, 13]);
    g.settle([d!]);
    expect(sent).toEqual([11, 12, 13, 14]);
    expect(g.held).toBe(0);
    expect(g.released).toBe(4);
  });

  it('drops held PUBACKs on reset and ignores tokens of the old connection', () => {
    const sent: number[] = [];
    const g = new AckGate((ids) => sent.push(...ids));
    const old = [1, 2].map((id) => g.receive(id));
    expect(g.reset()).toBe(2);
    const fresh = g.receive(1);
    g.settle(old);
    expect(sent).toEqual([]);
    g.settle(fresh);
    expect(sent).toEqual([1]);
  });

  it('hands each run of releases over at once (one socket write) and stays bounded over many messages', () => {
    const runs: number[][] = [];
    const g = new AckGate((ids) => runs.push([...ids]));
    for (let round = 0; round < 20; round++) {
      const tokens = Array.from({ length: 1000 }, (_, i) => g.receive(((round * 1000 + i) % 65535) + 1));
      g.settle(tokens);
    }
    expect(runs).toHaveLength(20);
    expect(runs.flat()).toEqual(Array.from({ length: 20_000 }, (_, i) => (i % 65535) + 1));
    expect(g.held).toBe(0);
    expect(g.released).toBe(20_000);
  });
});
