import { describe, expect, it } from 'vitest';
import { decodeField, encodeField } from './codec.ts';
import type { FaceField } from './template.ts';

const field = (o: Partial<FaceField>): FaceField => ({ name: 'x', area: 'holding', address: 0, type: 'uint16', order: 'ABCD', bit: null, scale: 1, offset: 0, writable: false, width: 1, ...o });
const h = (regs: number[]): string => regs.map((r) => r.toString(16).padStart(4, '0')).join(' ');

describe('face codec', () => {
  const cases: { name: string; f: Partial<FaceField>; value: number; regs: string }[] = [
    { name: 'float32 ABCD', f: { type: 'float32' }, value: 12.5, regs: '4148 0000' },
    { name: 'float32 CDAB', f: { type: 'float32', order: 'CDAB' }, value: 12.5, regs: '0000 4148' },
    { name: 'float32 BADC', f: { type: 'float32', order: 'BADC' }, value: 12.5, regs: '4841 0000' },
    { name: 'float32 DCBA', f: { type: 'float32', order: 'DCBA' }, value: 12.5, regs: '0000 4841' },
    { name: 'float64 CDAB', f: { type: 'float64', order: 'CDAB' }, value: 1234.5678, regs: 'faad 6d5c 4a45 4093' },
    { name: 'float64 DCBA', f: { type: 'float64', order: 'DCBA' }, value: 1234.5678, regs: 'adfa 5c6d 454a 9340' },
    { name: 'int32 CDAB', f: { type: 'int32', order: 'CDAB' }, value: -123456789, regs: '32eb f8a4' },
    { name: 'uint32 × 0.01', f: { type: 'uint32', order: 'CDAB', scale: 0.01 }, value: 700, regs: '1170 0001' },
    { name: 'int16 × 0.1', f: { type: 'int16', scale: 0.1 }, value: -3.8, regs: 'ffda' },
    { name: 'uint16 × 0.001, bytes swapped', f: { type: 'uint16', order: 'BADC', scale: 0.001 }, value: 0.456, regs: 'c801' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const f = field(c.f);
      expect(h(encodeField(f, c.value))).toBe(c.regs);
      const back = decodeField(f, encodeField(f, c.value));
      expect(Math.abs(back - c.value)).toBeLessThan(1e-6 * Math.max(1, Math.abs(c.value)));
    });
  }

  it('saturates integers and shows a missing value as the sentinel', () => {
    expect(h(encodeField(field({ type: 'int16', scale: 0.1 }), 5000))).toBe('7fff');
    expect(h(encodeField(field({ type: 'uint16' }), -5))).toBe('0000');
    expect(h(encodeField(field({ type: 'int16' }), Number.NaN))).toBe('8000');
    expect(h(encodeField(field({ type: 'uint32' }), Number.NaN))).toBe('ffff ffff');
    expect(Number.isNaN(decodeField(field({ type: 'float32' }), encodeField(field({ type: 'float32' }), Number.NaN)))).toBe(true);
  });
});
