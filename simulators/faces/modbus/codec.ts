/**
 * The simulator's register codec: engineering value ↔ 16-bit registers, for every type and order of the template
 * format (docs/modbus.md). Written apart from the hub's decoder on purpose (see template.ts).
 *
 * Order letters name the wire order of the value's bytes, A most significant: ABCD plain big-endian, CDAB words
 * swapped, BADC bytes swapped within words, DCBA fully reversed; 64-bit values extend the same two swaps to four words.
 */
import type { FaceField, FaceType } from './template.ts';

const LIMITS: Record<Exclude<FaceType, 'float32' | 'float64' | 'bit'>, [number, number]> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** Big-endian bytes of a raw value. */
function bigEndian(type: FaceType, raw: number): Buffer {
  switch (type) {
    case 'float32': {
      const b = Buffer.alloc(4);
      b.writeFloatBE(raw);
      return b;
    }
    case 'float64': {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(raw);
      return b;
    }
    case 'int32': {
      const b = Buffer.alloc(4);
      b.writeInt32BE(raw);
      return b;
    }
    case 'uint32': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(raw);
      return b;
    }
    case 'int16': {
      const b = Buffer.alloc(2);
      b.writeInt16BE(raw);
      return b;
    }
    default: {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(raw);
      return b;
    }
  }
}

function fromBigEndian(type: FaceType, b: Buffer): number {
  switch (type) {
    case 'float32':
      return b.readFloatBE(0);
    case 'float64':
      return b.readDoubleBE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'int16':
      return b.readInt16BE(0);
    default:
      return b.readUInt16BE(0);
  }
}

/** Big-endian value bytes → registers in the field's order. */
function toWords(be: Buffer, order: FaceField['order']): number[] {
  const words: number[] = [];
  for (let i = 0; i < be.length; i += 2) {
    const hi = be[i]!;
    const lo = be[i + 1]!;
    words.push(order === 'BADC' || order === 'DCBA' ? (lo << 8) | hi : (hi << 8) | lo);
  }
  if (order === 'CDAB' || order === 'DCBA') words.reverse();
  return words;
}

/** Registers in the field's order → big-endian value bytes. */
function fromWords(words: readonly number[], order: FaceField['order']): Buffer {
  const w = order === 'CDAB' || order === 'DCBA' ? [...words].reverse() : [...words];
  const b = Buffer.alloc(w.length * 2);
  w.forEach((x, i) => {
    const hi = (x >> 8) & 0xff;
    const lo = x & 0xff;
    if (order === 'BADC' || order === 'DCBA') {
      b[i * 2] = lo;
      b[i * 2 + 1] = hi;
    } else {
      b[i * 2] = hi;
      b[i * 2 + 1] = lo;
    }
  });
  return b;
}

/**
 * Registers for an engineering value, as the simulated PLC stores it: integers are rounded and saturate at the type's
 * limits; a missing value (NaN, a dead sensor) shows as NaN in floats and as the type's sentinel in integers
 * (−32768 / 0x8000… for signed, all ones for unsigned), as PLCs commonly do.
 */
export function encodeField(f: FaceField, value: number): number[] {
  if (f.type === 'float32' || f.type === 'float64') return toWords(bigEndian(f.type, (value - f.offset) / f.scale), f.order);
  const type = f.type === 'bit' ? 'uint16' : f.type;
  const [lo, hi] = LIMITS[type];
  let raw: number;
  if (!Number.isFinite(value)) raw = lo < 0 ? lo : hi;
  else raw = Math.min(hi, Math.max(lo, Math.round((value - f.offset) / f.scale)));
  return toWords(bigEndian(type, raw), f.order);
}

/** Engineering value of registers received in a write. */
export function decodeField(f: FaceField, words: readonly number[]): number {
  const type = f.type === 'bit' ? 'uint16' : f.type;
  const raw = fromBigEndian(type, fromWords(words, f.order));
  // A decimal scale (0.1, 0.001) divides by its inverse so 120 × 0.001 gives 0.12 exactly as written.
  const inv = Math.round(1 / f.scale);
  const scaled = f.scale < 1 && inv > 1 && Math.abs(1 / f.scale - inv) < 1e-9 * inv ? raw / inv : raw * f.scale;
  return scaled + f.offset;
}
