import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FastOutgoing, withFastOutgoing, type OutgoingPacket } from './fast-outgoing.ts';

// The original in-memory persistence of aedes, the reference behaviour.
const require = createRequire(import.meta.url);
const Original = require('aedes-persistence/asyncPersistence.js') as new () => {
  outgoingEnqueueCombi(subs: { clientId: string }[], p: OutgoingPacket): Promise<void>;
  outgoingUpdate(c: { id: string }, p: OutgoingPacket): Promise<void>;
  outgoingClearMessageId(c: { id: string }, p: OutgoingPacket): Promise<OutgoingPacket | undefined>;
  outgoingStream(c: { id: string }): AsyncIterable<OutgoingPacket>;
};
const Packet = require('aedes-packet') as new (p: OutgoingPacket) => OutgoingPacket;

function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const view = (list: OutgoingPacket[]): unknown[] => list.map((p) => [p['cmd'], p.brokerId, p.brokerCounter, p.messageId ?? null, p['topic'] ?? null]);

describe('FastOutgoing', () => {
  it.each([1, 2, 3])('behaves like aedes-persistence over a random run of deliveries, PUBRELs and acks (seed %i)', async (seed) => {
    const r = rng(seed);
    const ref = new Original();
    const fast = new FastOutgoing();
    const client = { id: 'c1' };
    let counter = 0;
    const outcomes = new Map<string, number>();
    const seen = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    for (let step = 0; step < 2000; step++) {
      const x = r();
      if (x < 0.4) {
        const p = { cmd: 'publish', topic: `t/${step}`, payload: Buffer.from('x'), qos: 1, brokerId: r() < 0.8 ? 'b1' : 'b2', brokerCounter: ++counter, retain: false, dup: false } as OutgoingPacket;
        await ref.outgoingEnqueueCombi([{ clientId: 'c1' }], p);
        fast.enqueue('c1', p);
      } else if (x < 0.75) {
        const list = fast.list('c1');
        const target = list[Math.floor(r() * list.length)];
        let upd: OutgoingPacket;
        if (target && r() < 0.85) {
          upd = new Packet(target as OutgoingPacket);
          upd.messageId = 1 + Math.floor(r() * 50);
        } else if (r() < 0.5) {
          upd = { cmd: 'pubrel', messageId: 1 + Math.floor(r() * 50) };
        } else {
          upd = { cmd: 'publish', brokerId: 'b3', brokerCounter: 99_999, messageId: 1 + Math.floor(r() * 50) };
        }
        const a = await ref.outgoingUpdate(client, upd).then(() => 'ok', (e: Error) => e.message);
        let b = 'ok';
        try {
          fast.update('c1', { ...upd });
        } catch (e) {
          b = (e as Error).message;
        }
        expect(b).toBe(a);
        seen(`update:${a}:${upd['cmd'] as string}`);
      } else {
        const id = r() < 0.1 ? undefined : 1 + Math.floor(r() * 50);
        const a = await ref.outgoingClearMessageId(client, { messageId: id });
        const b = fast.clear('c1', { messageId: id });
        expect(view(b ? [b] : [])).toEqual(view(a ? [a] : []));
        seen(`clear:${a ? 'hit' : 'miss'}`);
      }
      if (step % 20 === 0 || step === 1999) {
        const refList: OutgoingPacket[] = [];
        for await (const p of ref.outgoingStream(client)) refList.push(p);
        expect(view(fast.list('c1'))).toEqual(view(refList));
      }
    }
    // The run went through every branch: updates that set ids, replace (PUBREL) and fail; acks that hit and miss.
    for (const k of ['update:ok:publish', 'update:ok:pubrel', 'update:no such packet:pubrel', 'clear:hit', 'clear:miss']) expect(outcomes.get(k), k).toBeGreaterThan(0);
  });

  it('keeps delivery and ack cost flat with 50,000 messages in flight', () => {
    const fast = new FastOutgoing();
    const n = 50_000;
    for (let i = 1; i <= n; i++) fast.enqueue('hub', { cmd: 'publish', topic: 't', qos: 1, brokerId: 'b', brokerCounter: i });
    for (let i = 1; i <= n; i++) fast.update('hub', { cmd: 'publish', brokerId: 'b', brokerCounter: i, messageId: (i % 65535) + 1 });
    let inOrder = 0;
    for (let i = 1; i <= n; i++) if (fast.clear('hub', { messageId: (i % 65535) + 1 })?.brokerCounter === i) inOrder++;
    expect(inOrder).toBe(n);
    expect(fast.size('hub')).toBe(0);
  });

  it('offers both the promise and the callback style of aedes-persistence', async () => {
    const p = withFastOutgoing({} as Record<string, unknown>) as unknown as {
      outgoingEnqueue(s: { clientId: string }, p: OutgoingPacket): Promise<void>;
      outgoingUpdate(c: { id: string }, p: OutgoingPacket, cb?: (err: Error | null, c?: unknown, p?: unknown) => void): Promise<void> | void;
    };
    await p.outgoingEnqueue({ clientId: 'c' }, { cmd: 'publish', brokerId: 'b', brokerCounter: 1, qos: 1 });
    await expect(p.outgoingUpdate({ id: 'c' }, { brokerId: 'b', brokerCounter: 2, messageId: 1 }) as Promise<void>).rejects.toThrow('no such packet');
    const viaCb = await new Promise<unknown>((resolve) => p.outgoingUpdate({ id: 'c' }, { brokerId: 'b', brokerCounter: 1, messageId: 7 }, (err, c) => resolve([err, c])));
    expect(viaCb).toEqual([null, { id: 'c' }]);
  });
});
