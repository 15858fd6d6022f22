/**
 * Modbus device templates (config/templates/*.yaml with `protocol: modbus`): the register map of a device type.
 * Both the hub poller and the simulator read the same file; each has its own parser and codec.
 *
 * `validateModbusTemplate` checks a raw template and returns every problem (JSON pointers into the file);
 * `compileModbusTemplate` turns a valid one into fields with compiled decoders, shared by every device using it.
 * See docs/modbus.md for the format.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ConfigProblem } from '../../source.ts';
import { compileDecoder, encodeValue, ORDERS, registerCount, VALUE_TYPES, type Codec, type FieldDecoder, type Order, type ValueType } from './decode.ts';
import { ADDRESS_SPACE, AREAS, isBitArea, type Area } from './planner.ts';

const lit = <T extends string>(values: readonly T[], description: string, dflt?: T) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    dflt === undefined ? { description } : { description, default: dflt },
  );

export const ModbusRegister = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'Field name in the hub, snake_case with a unit suffix (secondary_supply_temp_c)' }),
    area: lit(AREAS, 'holding (FC3, writable with FC6/FC16), input (FC4), coil (FC1, writable with FC5), discrete (FC2)'),
    address: Type.Integer({ minimum: 0, maximum: 65535, description: 'Zero-based PDU address (register 40001 is holding address 0)' }),
    type: lit(VALUE_TYPES, 'int16, uint16, int32, uint32, float32, float64, or bit'),
    order: Type.Optional(lit(ORDERS, 'Byte and word order; defaults to the template order')),
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15, description: 'For type bit in a register: bit number, 0 = least significant' })),
    scale: Type.Number({ default: 1, description: 'value = raw × scale + offset' }),
    offset: Type.Number({ default: 0, description: 'Added after scaling' }),
    unit: Type.Optional(Type.String({ maxLength: 32, description: 'Unit, for people (the field name carries it too)' })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    writable: Type.Boolean({ default: false, description: 'The hub may write it (holding registers and coils only)' }),
    min: Type.Optional(Type.Number({ description: 'Lowest value a write may set (required for writable numbers)' })),
    max: Type.Optional(Type.Number({ description: 'Highest value a write may set (required for writable numbers)' })),
  },
  { additionalProperties: false },
);
export type ModbusRegister = Static<typeof ModbusRegister>;

export const ModbusTemplate = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }),
    protocol: Type.Literal('modbus'),
    assetKind: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    order: lit(ORDERS, 'Default byte and word order of multi-byte values', 'ABCD'),
    registers: Type.Array(ModbusRegister, { minItems: 1, maxItems: 10_000 }),
  },
  { additionalProperties: false },
);
export type ModbusTemplate = Static<typeof ModbusTemplate>;

export interface CompiledField {
  readonly index: number;
  readonly name: string;
  readonly area: Area;
  readonly address: number;
  /** Length in the unit of the area: registers, or bits for coil/discrete. */
  readonly count: number;
  readonly codec: Codec;
  readonly decode: FieldDecoder;
  readonly writable: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly unit?: string;
}

export interface CompiledTemplate {
  readonly id: string;
  readonly assetKind: string;
  readonly fields: readonly CompiledField[];
  readonly byName: ReadonlyMap<string, CompiledField>;
}

/** Every problem of a raw template, or none. */
export function validateModbusTemplate(raw: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const t = withDefaults(raw);
  for (const e of Value.Errors(ModbusTemplate, t)) {
    problems.push({ path: e.path, message: e.message });
    if (problems.length > 100) return problems;
  }
  if (problems.length > 0) return problems;
  const tpl = t as ModbusTemplate;
  const add = (i: number, key: string, message: string): void => {
    problems.push({ path: `/registers/${i}${key ? `/${key}` : ''}`, message });
  };
  const names = new Map<string, number>();
  tpl.registers.forEach((r, i) => {
    const prev = names.get(r.name);
    if (prev !== undefined) add(i, 'name', `duplicate name "${r.name}" (also /registers/${prev})`);
    names.set(r.name, i);
    const bitArea = isBitArea(r.area);
    if (bitArea && r.type !== 'bit') add(i, 'type', `a ${r.area} holds single bits: use type bit`);
    if (bitArea && r.bit !== undefined) add(i, 'bit', `bit applies to a bit inside a register, not to a ${r.area}`);
    if (!bitArea && r.type === 'bit' && r.bit === undefined) add(i, 'bit', 'a bit in a register needs its bit number (0 = least significant)');
    if (r.type !== 'bit' && r.bit !== undefined) add(i, 'bit', `bit applies only to type bit, not ${r.type}`);
    if (r.type !== 'bit' && (!Number.isFinite(r.scale) || r.scale === 0)) add(i, 'scale', 'scale must be a finite number other than 0');
    const count = bitArea ? 1 : registerCount(r.type);
    if (r.address + count > ADDRESS_SPACE) add(i, 'address', `${r.type} at ${r.address} runs past address 65535`);
    if (r.writable) {
      if (r.area === 'input' || r.area === 'discrete') add(i, 'writable', `${r.area} ${r.area === 'input' ? 'registers' : 'inputs'} are read-only in Modbus; writable needs holding or coil`);
      else if (r.area === 'holding' && r.type === 'bit') add(i, 'writable', 'a bit inside a holding register cannot be written on its own; map it to a coil');
      else if (r.area === 'holding') {
        if (r.min === undefined || r.max === undefined) add(i, '', 'a writable register needs min and max');
        else if (r.min > r.max) add(i, 'min', `min ${r.min} is above max ${r.max}`);
        else {
          const codec = codecOf(r, tpl.order);
          for (const k of ['min', 'max'] as const) {
            const enc = encodeValue(r[k]!, codec);
            if (!enc.ok) add(i, k, `${k} ${r[k]} cannot be encoded: ${enc.message}`);
          }
        }
      }
    }
    if (r.area === 'coil' && (r.min !== undefined || r.max !== undefined)) add(i, '', 'min and max do not apply to a coil');
    if (!r.writable && (r.min !== undefined || r.max !== undefined)) add(i, '', 'min and max bound writes; this register is not writable');
  });

  // Overlaps: two fields may share a register only when both are bits of it with different bit numbers.
  for (const area of AREAS) {
    const mine = tpl.registers.map((r, i) => ({ r, i })).filter((x) => x.r.area === area);
    mine.sort((a, b) => a.r.address - b.r.address);
    for (let k = 0; k < mine.length; k++) {
      const a = mine[k]!;
      const aEnd = a.r.address + (isBitArea(area) ? 1 : registerCount(a.r.type));
      for (let j = k + 1; j < mine.length && mine[j]!.r.address < aEnd; j++) {
        const b = mine[j]!;
        const bothBits = !isBitArea(area) && a.r.type === 'bit' && b.r.type === 'bit' && a.r.address === b.r.address;
        if (!bothBits) add(b.i, 'address', `overlaps "${a.r.name}" (${area} ${a.r.address})`);
        else if (a.r.bit === b.r.bit) add(b.i, 'bit', `bit ${b.r.bit} of ${area} ${b.r.address} is also "${a.r.name}"`);
      }
    }
  }
  return problems;
}

/** Compiles a template; throws with every problem listed when it is not valid. */
export function compileModbusTemplate(raw: Record<string, unknown>): CompiledTemplate {
  const problems = validateModbusTemplate(raw);
  if (problems.length > 0) {
    throw new Error(`modbus template "${String(raw['id'])}" is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
  const tpl = withDefaults(raw) as ModbusTemplate;
  const fields: CompiledField[] = tpl.registers.map((r, index) => {
    const codec = codecOf(r, tpl.order);
    const bitArea = isBitArea(r.area);
    return {
      index,
      name: r.name,
      area: r.area,
      address: r.address,
      count: bitArea ? 1 : registerCount(r.type),
      codec,
      decode: compileDecoder(codec, bitArea),
      writable: r.writable,
      ...(r.min !== undefined ? { min: r.min } : {}),
      ...(r.max !== undefined ? { max: r.max } : {}),
      ...(r.unit !== undefined ? { unit: r.unit } : {}),
    };
  });
  return { id: tpl.id, assetKind: tpl.assetKind, fields, byName: new Map(fields.map((f) => [f.name, f])) };
}

function codecOf(r: ModbusRegister, order: Order): Codec {
  const type: ValueType = r.type;
  return { type, order: r.order ?? order, scale: r.scale, offset: r.offset, ...(r.bit !== undefined ? { bit: r.bit } : {}) };
}

function withDefaults(raw: Record<string, unknown>): unknown {
  return Value.Default(ModbusTemplate, structuredClone(raw));
}
