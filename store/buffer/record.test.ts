import { describe, expect, it } from 'vitest';
import { encodeRecord, HEADER_BYTES, parseRecord } from './record.ts';

function record(text: string, count = 3, at = 1_768_435_200_123): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([encodeRecord(payload, count, at), payload]);
}

describe('buffer record', () => {
  it('round-trips header fields and payload', () => {
    const buf = Buffer.concat([Buffer.from('xx'), record('hello'), record('second', 7)]);
    const a = parseRecord(buf, 2);
    expect(a).toMatchObject({ ok: true, meta: { size: HEADER_BYTES + 5, count: 3, appendedAt: 1_768_435_200_123 } });
    expect(a.ok && a.payload.toString()).toBe('hello');
    const b = parseRecord(buf, 2 + HEADER_BYTES + 5);
    expect(b.ok && b.payload.toString()).toBe('second');
  });

  it('finds every single flipped byte', () => {
    const good = record('{"asset":"ss01","ts":1}');
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x10;
      const r = parseRecord(bad, 0);
      expect(r.ok, `byte ${i}`).toBe(false);
    }
  });

  it('tells a record cut short from a damaged one', () => {
    const good = record('payload');
    expect(parseRecord(good.subarray(0, 10), 0)).toMatchObject({ ok: false, problem: 'incomplete', need: HEADER_BYTES });
    expect(parseRecord(good.subarray(0, good.length - 1), 0)).toMatchObject({ ok: false, problem: 'incomplete', need: good.length });
    expect(parseRecord(Buffer.alloc(40), 0)).toMatchObject({ ok: false, problem: 'corrupt', detail: 'bad magic' });
  });
});
