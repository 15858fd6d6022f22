import { describe, expect, it } from 'vitest';
import { byteMap, bytesToRegisters, compileDecoder, decodeRaw, decodeValue, encodeRaw, encodeValue, packedBit, registersToBytes, writeTolerance, type Codec, type Order, type ValueType } from './decode.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Wire bytes of a value in each order; the big-endian (ABCD) form is the reference. */
const VECTORS: { type: ValueType; value: number; wire: Record<Order, string> }[] = [
  { type: 'float32', value: Math.fround(123.456), wire: { ABCD: '42f6e979', CDAB: 'e97942f6', BADC: 'f64279e9', DCBA: '79e9f642' } },
  { type: 'float32', value: -2.5, wire: { ABCD: 'c0200000', CDAB: '0000c020', BADC: '20c00000', DCBA: '000020c0' } },
  { type: 'int32', value: -123456789, wire: { ABCD: 'f8a432eb', CDAB: '32ebf8a4', BADC: 'a4f8eb32', DCBA: 'eb32a4f8' } },
  { type: 'uint32', value: 0xdeadbeef, wire: { ABCD: 'deadbeef', CDAB: 'beefdead', BADC: 'addeefbe', DCBA: 'efbeadde' } },
  { type: 'uint32', value: 70_000, wire: { ABCD: '00011170', CDAB: '11700001', BADC: '01007011', DCBA: '70110100' } },
  {
    type: 'float64',
    value: 1234.5678,
    wire: { ABCD: '40934a456d5cfaad', CDAB: 'faad6d5c4a454093', BADC: '9340454a5c6dadfa', DCBA: 'adfa5c6d454a9340' },
  },
  { type: 'float64', value: -0.001, wire: { ABCD: 'bf50624dd2f1a9fc', CDAB: 'a9fcd2f1624dbf50', BADC: '50bf4d62f1d2fca9', DCBA: 'fca9f1d24d6250bf' } },
  { type: 'int16', value: -1234, wire: { ABCD: 'fb2e', CDAB: 'fb2e', BADC: '2efb', DCBA: '2efb' } },
  { type: 'uint16', value: 0xabcd, wire: { ABCD: 'abcd', CDAB: 'abcd', BADC: 'cdab', DCBA: 'cdab' } },
  { type: 'int16', value: 32767, wire: { ABCD: '7fff', CDAB: '7fff', BADC: 'ff7f', DCBA: 'ff7f' } },
];

describe('decodeRaw / encodeRaw: every type in every byte and word order', () => {
  for (const v of VECTORS) {
    for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
      it(`${v.type} ${v.value} ${order}`, () => {
        const wire = hex(v.wire[order]);
        expect(decodeRaw(wire, 0, v.type, order)).toBe(v.value);
        expect(toHex(encodeRaw(v.value, v.type, order))).toBe(v.wire[order]);
      });
    }
  }

  it('decodes at an offset inside a longer response', () => {
    const wire = hex(`0000 1111 ${VECTORS[0]!.wire.CDAB} 2222`);
    expect(decodeRaw(wire, 4, 'float32', 'CDAB')).toBe(Math.fround(123.456));
  });

  it('byte maps are their own inverse', () => {
    for (const type of ['int16', 'float32', 'float64'] as const) {
      for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
        const m = byteMap(type, order);
        expect(m.map((_, i) => m[m[i]!])).toEqual(m.map((_, i) => i));
      }
    }
  });
});

describe('compileDecoder: scale, offset, bits', () => {
  const cases: { name: string; codec: Codec; wire: string; at?: number; want: number | boolean }[] = [
    { name: 'int16 × 0.1 (temperature)', codec: { type: 'int16', order: 'ABCD', scale: 0.1, offset: 0 }, wire: 'ffda', want: -3.8 },
    { name: 'uint16 × 0.001 (kPa → MPa)', codec: { type: 'uint16', order: 'CDAB', scale: 0.001, offset: 0 }, wire: '04d2', want: 1.234 },
    { name: 'uint16 × 0.5 − 40', codec: { type: 'uint16', order: 'ABCD', scale: 0.5, offset: -40 }, wire: '01f4', want: 210 },
    { name: 'uint32 × 0.01 CDAB (counter)', codec: { type: 'uint32', order: 'CDAB', scale: 0.01, offset: 0 }, wire: '11700001', want: 700 },
    { name: 'int16 × 10', codec: { type: 'int16', order: 'ABCD', scale: 10, offset: 0 }, wire: '0007', want: 70 },
    { name: 'float32 × 1 + 273.15', codec: { type: 'float32', order: 'CDAB', scale: 1, offset: 273.15 }, wire: '0000c020', want: -2.5 + 273.15 },
    { name: 'bit 0 of a status word', codec: { type: 'bit', order: 'ABCD', scale: 1, offset: 0, bit: 0 }, wire: '0005', want: true },
    { name: 'bit 1 of a status word', codec: { type: 'bit', order: 'ABCD', scale: 1, offset: 0, bit: 1 }, wire: '0005', want: false },
    { name: 'bit 2 of a status word', codec: { type: 'bit', order: 'ABCD', scale: 1, offset: 0, bit: 2 }, wire: '0005', want: true },
    { name: 'bit 15 of a status word', codec: { type: 'bit', order: 'CDAB', scale: 1, offset: 0, bit: 15 }, wire: '8000', want: true },
    { name: 'bit 8 with bytes swapped (BADC)', codec: { type: 'bit', order: 'BADC', scale: 1, offset: 0, bit: 8 }, wire: '0001', want: true },
    { name: 'bit 0 with bytes swapped (BADC)', codec: { type: 'bit', order: 'BADC', scale: 1, offset: 0, bit: 0 }, wire: '0001', want: false },
    { name: 'value at a register offset', codec: { type: 'int16', order: 'ABCD', scale: 0.1, offset: 0 }, wire: '0000 02bc', at: 2, want: 70 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(compileDecoder(c.codec, false)(hex(c.wire), c.at ?? 0)).toBe(c.want);
    });
  }

  it('reads packed coils and discrete inputs LSB first (FC1/FC2)', () => {
    const bytes = hex('cd 01'); // 1100 1101, 0000 0001 → bits 0,2,3,6,7,8
    const want = [true, false, true, true, false, false, true, true, true, false];
    want.forEach((w, i) => {
      expect(packedBit(bytes, i)).toBe(w);
      expect(decodeValue(bytes, i, { type: 'bit', order: 'ABCD', scale: 1, offset: 0 }, true)).toBe(w);
    });
  });
});

describe('encodeValue: writes', () => {
  const cases: { name: string; codec: Codec; value: number; regs?: number[]; error?: RegExp }[] = [
    { name: 'float32 CDAB setpoint', codec: { type: 'float32', order: 'CDAB', scale: 1, offset: 0 }, value: -2.5, regs: [0x0000, 0xc020] },
    { name: 'float32 ABCD', codec: { type: 'float32', order: 'ABCD', scale: 1, offset: 0 }, value: -2.5, regs: [0xc020, 0x0000] },
    { name: 'int16 × 0.1 rounds to the step', codec: { type: 'int16', order: 'ABCD', scale: 0.1, offset: 0 }, value: 65.36, regs: [654] },
    { name: 'int16 negative', codec: { type: 'int16', order: 'ABCD', scale: 0.1, offset: 0 }, value: -3.8, regs: [0xffda] },
    { name: 'uint16 × 0.001', codec: { type: 'uint16', order: 'ABCD', scale: 0.001, offset: 0 }, value: 0.12, regs: [120] },
    { name: 'uint16 byte-swapped', codec: { type: 'uint16', order: 'DCBA', scale: 1, offset: 0 }, value: 0x1234, regs: [0x3412] },
    { name: 'int32 CDAB', codec: { type: 'int32', order: 'CDAB', scale: 1, offset: 0 }, value: -123456789, regs: [0x32eb, 0xf8a4] },
    { name: 'uint32 with offset', codec: { type: 'uint32', order: 'ABCD', scale: 1, offset: 100 }, value: 70_100, regs: [0x0001, 0x1170] },
    { name: 'float64 DCBA', codec: { type: 'float64', order: 'DCBA', scale: 1, offset: 0 }, value: 1234.5678, regs: [0xadfa, 0x5c6d, 0x454a, 0x9340] },
    { name: 'uint16 below 0', codec: { type: 'uint16', order: 'ABCD', scale: 1, offset: 0 }, value: -1, error: /does not fit uint16/ },
    { name: 'int16 above 32767 after scaling', codec: { type: 'int16', order: 'ABCD', scale: 0.1, offset: 0 }, value: 4000, error: /does not fit int16/ },
    { name: 'NaN', codec: { type: 'float32', order: 'ABCD', scale: 1, offset: 0 }, value: NaN, error: /finite/ },
    { name: 'a bit in a register', codec: { type: 'bit', order: 'ABCD', scale: 1, offset: 0, bit: 3 }, value: 1, error: /cannot be written/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = encodeValue(c.value, c.codec);
      if (c.error) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.message).toMatch(c.error);
      } else {
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.registers).toEqual(c.regs);
      }
    });
  }

  it('round-trips through the decoder within the write tolerance', () => {
    const codecs: [Codec, number[]][] = [
      [{ type: 'float32', order: 'CDAB', scale: 1, offset: 0 }, [0, 0.12, 20, 65.3, 89.99, -17.7]],
      [{ type: 'int16', order: 'BADC', scale: 0.1, offset: 0 }, [0, 0.12, 20, 65.3, 89.99, -17.7]],
      [{ type: 'uint16', order: 'ABCD', scale: 0.001, offset: 0 }, [0, 0.02, 0.12, 0.4, 65.535]],
      [{ type: 'uint32', order: 'DCBA', scale: 0.01, offset: 5 }, [5, 20, 65.3, 40_000_000.07]],
      [{ type: 'float64', order: 'CDAB', scale: 2, offset: -1 }, [0, 0.12, 65.3, -1e12]],
    ];
    for (const [c, values] of codecs) {
      for (const v of values) {
        const enc = encodeValue(v, c);
        expect(enc.ok).toBe(true);
        if (!enc.ok) continue;
        const back = compileDecoder(c, false)(registersToBytes(enc.registers), 0) as number;
        expect(Math.abs(back - v)).toBeLessThanOrEqual(writeTolerance(v, c));
      }
    }
  });

  it('converts between registers and wire bytes', () => {
    expect(bytesToRegisters(hex('12345678'))).toEqual([0x1234, 0x5678]);
    expect(toHex(registersToBytes([0x1234, 0x5678]))).toBe('12345678');
  });
});
