/**
 * Pure decoders and encoders for Modbus register data: every value type, all four byte/word orders, scale and offset.
 *
 * Byte and word order use the common four-letter notation for a 32-bit value whose bytes, most significant first, are
 * A B C D. The letters say in which order the bytes arrive on the wire (register by register, each register sent high
 * byte first as Modbus prescribes, Modbus Application Protocol V1.1b3 §4.2):
 *   ABCD  big-endian words, big-endian bytes            (Modbus "natural" order)
 *   CDAB  little-endian words (word swap), big-endian bytes  (many PLCs: Modicon, Siemens MB libraries)
 *   BADC  big-endian words, bytes swapped in each word
 *   DCBA  little-endian words, bytes swapped (fully little-endian)
 * The same two properties (word order, byte order in a word) apply to 16-bit values (only the byte swap matters) and
 * to 64-bit values (CDAB means the four words arrive least significant first: GHEFCDAB).
 *
 * Engineering value = raw × scale + offset. Encoding inverts it and rounds to the type for integer types.
 */

export const VALUE_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'bit'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
export const ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type Order = (typeof ORDERS)[number];

/** Registers (16-bit words) a value of this type occupies; a `bit` in a register area occupies one register. */
export function registerCount(type: ValueType): number {
  switch (type) {
    case 'int16':
    case 'uint16':
    case 'bit':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'float64':
      return 4;
  }
}

/** Raw integer range of a type (floats: ±max finite). */
export function rawRange(type: ValueType): { min: number; max: number } {
  switch (type) {
    case 'int16':
      return { min: -0x8000, max: 0x7fff };
    case 'uint16':
      return { min: 0, max: 0xffff };
    case 'int32':
      return { min: -0x80000000, max: 0x7fffffff };
    case 'uint32':
      return { min: 0, max: 0xffffffff };
    case 'float32':
      return { min: -3.4028234663852886e38, max: 3.4028234663852886e38 };
    case 'float64':
      return { min: -Number.MAX_VALUE, max: Number.MAX_VALUE };
    case 'bit':
      return { min: 0, max: 1 };
  }
}

export function isIntegerType(type: ValueType): boolean {
  return type !== 'float32' && type !== 'float64';
}

/**
 * Where each byte of the big-endian value comes from in the wire bytes: `map[i]` is the wire index of value byte i.
 * Every map here is its own inverse (a word reversal and/or a byte swap), so it also turns value bytes into wire bytes.
 */
export function byteMap(type: ValueType, order: Order): readonly number[] {
  const words = registerCount(type);
  const wordSwap = order === 'CDAB' || order === 'DCBA';
  const byteSwap = order === 'BADC' || order === 'DCBA';
  const map: number[] = [];
  for (let w = 0; w < words; w++) {
    const wire = wordSwap ? words - 1 - w : w;
    map.push(wire * 2 + (byteSwap ? 1 : 0), wire * 2 + (byteSwap ? 0 : 1));
  }
  return map;
}

const scratch = new DataView(new ArrayBuffer(8));

function readBE(type: ValueType): number {
  switch (type) {
    case 'int16':
      return scratch.getInt16(0);
    case 'uint16':
    case 'bit':
      return scratch.getUint16(0);
    case 'int32':
      return scratch.getInt32(0);
    case 'uint32':
      return scratch.getUint32(0);
    case 'float32':
      return scratch.getFloat32(0);
    case 'float64':
      return scratch.getFloat64(0);
  }
}

function writeBE(type: ValueType, raw: number): void {
  switch (type) {
    case 'int16':
      scratch.setInt16(0, raw);
      break;
    case 'uint16':
    case 'bit':
      scratch.setUint16(0, raw);
      break;
    case 'int32':
      scratch.setInt32(0, raw);
      break;
    case 'uint32':
      scratch.setUint32(0, raw);
      break;
    case 'float32':
      scratch.setFloat32(0, raw);
      break;
    case 'float64':
      scratch.setFloat64(0, raw);
      break;
  }
}

/** Decodes the raw (unscaled) value at `byteOffset` of register bytes as they came off the wire. */
export function decodeRaw(bytes: Uint8Array, byteOffset: number, type: ValueType, order: Order): number {
  const map = byteMap(type, order);
  for (let i = 0; i < map.length; i++) scratch.setUint8(i, bytes[byteOffset + map[i]!]!);
  return readBE(type);
}

/** Encodes a raw value into wire bytes (register order). The raw value must already fit the type. */
export function encodeRaw(raw: number, type: ValueType, order: Order): Uint8Array {
  writeBE(type, raw);
  const map = byteMap(type, order);
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) out[map[i]!] = scratch.getUint8(i);
  return out;
}

/** Wire bytes → 16-bit register values (what FC6/FC16 send). */
export function bytesToRegisters(bytes: Uint8Array): number[] {
  const regs: number[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) regs.push((bytes[i]! << 8) | bytes[i + 1]!);
  return regs;
}

/** Bit `i` of packed coil/discrete data (FC1/FC2 responses pack LSB first, §6.1). */
export function packedBit(bytes: Uint8Array, i: number): boolean {
  return ((bytes[i >> 3]! >> (i & 7)) & 1) === 1;
}

/** What one field needs to be decoded or encoded. */
export interface Codec {
  type: ValueType;
  order: Order;
  scale: number;
  offset: number;
  /** For a `bit` inside a register: bit number 0 (least significant) … 15 of the register value. */
  bit?: number;
}

/**
 * A decoder compiled for one field: reads from response bytes at an offset in the unit of the area (a byte offset of
 * register bytes for register areas, a bit index of packed bits for coil/discrete areas).
 */
export type FieldDecoder = (bytes: Uint8Array, at: number) => number | boolean;

export function compileDecoder(c: Codec, bitArea: boolean): FieldDecoder {
  if (bitArea) return (bytes, at) => packedBit(bytes, at);
  const map = byteMap(c.type, c.order);
  const n = map.length;
  if (c.type === 'bit') {
    const bit = c.bit ?? 0;
    // Bit numbers refer to the register's 16-bit value, after any byte swap of the order.
    const hi = map[0]!;
    const lo = map[1]!;
    return (bytes, at) => ((((bytes[at + hi]! << 8) | bytes[at + lo]!) >> bit) & 1) === 1;
  }
  const type = c.type;
  const apply = scaler(c.scale, c.offset);
  return (bytes, at) => {
    for (let i = 0; i < n; i++) scratch.setUint8(i, bytes[at + map[i]!]!);
    return apply(readBE(type));
  };
}

/**
 * raw × scale + offset. A decimal scale such as 0.1 or 0.001 divides by 10 or 1000 instead, so −38 × 0.1 reads −3.8
 * and not −3.8000000000000003 (division by an integer is correctly rounded; multiplication by 0.1 is not).
 */
export function scaler(scale: number, offset: number): (raw: number) => number {
  if (scale === 1 && offset === 0) return (raw) => raw;
  const inv = 1 / scale;
  const div = Math.round(inv);
  if (Math.abs(scale) < 1 && div !== 0 && Math.abs(inv - div) < 1e-9 * Math.abs(inv)) return offset === 0 ? (raw) => raw / div : (raw) => raw / div + offset;
  return (raw) => raw * scale + offset;
}

/** Decodes one engineering value (convenience over `compileDecoder`, for tests and read-back). */
export function decodeValue(bytes: Uint8Array, at: number, c: Codec, bitArea = false): number | boolean {
  return compileDecoder(c, bitArea)(bytes, at);
}

export type EncodeResult = { ok: true; registers: number[]; raw: number } | { ok: false; message: string };

/**
 * Encodes an engineering value for a register write: raw = (value − offset) / scale, rounded for integer types,
 * then checked against the type's range. Bits in registers cannot be encoded (writing one needs the other 15 bits).
 */
export function encodeValue(value: number, c: Codec): EncodeResult {
  if (c.type === 'bit') return { ok: false, message: 'a bit inside a register cannot be written on its own' };
  if (!Number.isFinite(value)) return { ok: false, message: 'value is not a finite number' };
  let raw = (value - c.offset) / c.scale;
  if (isIntegerType(c.type)) raw = Math.round(raw);
  // Avoid -0 on the wire for integers; floats keep their sign.
  if (raw === 0) raw = 0;
  const r = rawRange(c.type);
  if (!(raw >= r.min && raw <= r.max)) return { ok: false, message: `raw value ${raw} does not fit ${c.type} (${r.min}..${r.max})` };
  return { ok: true, raw, registers: bytesToRegisters(encodeRaw(raw, c.type, c.order)) };
}

/** Registers → wire bytes (for decoding values read back or received in a write). */
export function registersToBytes(regs: readonly number[]): Uint8Array {
  const out = new Uint8Array(regs.length * 2);
  for (let i = 0; i < regs.length; i++) {
    out[i * 2] = (regs[i]! >> 8) & 0xff;
    out[i * 2 + 1] = regs[i]! & 0xff;
  }
  return out;
}

/**
 * How close a read-back must be to the requested value to count as written: half a step of an integer encoding,
 * float32 rounding, or exact for float64 (with a relative epsilon).
 */
export function writeTolerance(value: number, c: Codec): number {
  if (isIntegerType(c.type)) return Math.abs(c.scale) / 2 + 1e-9 * Math.max(1, Math.abs(value));
  if (c.type === 'float32') return Math.abs(c.scale) * Math.max(1e-30, Math.abs((value - c.offset) / c.scale)) * 2 ** -23 + 1e-12;
  return 1e-9 * Math.max(1, Math.abs(value));
}
