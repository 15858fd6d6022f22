/**
 * The simulator's own reading of a Modbus device template (config/templates/*.yaml, format in docs/modbus.md).
 * Independent of the hub's parser on purpose: the template is the only thing the two sides share, so a parsing or
 * encoding bug on one side shows up as a mismatch in tests instead of cancelling out.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export type FaceArea = 'holding' | 'input' | 'coil' | 'discrete';
export type FaceType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'bit';
export type FaceOrder = 'ABCD' | 'CDAB' | 'BADC' | 'DCBA';

export interface FaceField {
  name: string;
  area: FaceArea;
  address: number;
  type: FaceType;
  order: FaceOrder;
  /** Bit number inside a register (type bit in holding/input). */
  bit: number | null;
  scale: number;
  offset: number;
  writable: boolean;
  /** Registers (or bits, in coil/discrete) the field occupies. */
  width: number;
}

export interface FaceTemplate {
  id: string;
  fields: FaceField[];
}

export const DEFAULT_TEMPLATE_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../config/templates/substation-modbus.yaml');

const AREAS = new Set(['holding', 'input', 'coil', 'discrete']);
const TYPES: Record<string, number> = { int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4, bit: 1 };
const ORDERS = new Set(['ABCD', 'CDAB', 'BADC', 'DCBA']);

/** Reads a template from a file path, or takes an already parsed object. Throws on anything it cannot serve. */
export function loadFaceTemplate(source: string | Record<string, unknown> = DEFAULT_TEMPLATE_FILE): FaceTemplate {
  const doc = (typeof source === 'string' ? parse(readFileSync(source, 'utf8')) : source) as Record<string, unknown>;
  if (doc['protocol'] !== 'modbus') throw new Error(`template ${String(doc['id'])}: protocol is ${String(doc['protocol'])}, not modbus`);
  const dflt = String(doc['order'] ?? 'ABCD');
  if (!ORDERS.has(dflt)) throw new Error(`template ${String(doc['id'])}: unknown order ${dflt}`);
  const regs = doc['registers'];
  if (!Array.isArray(regs)) throw new Error(`template ${String(doc['id'])}: registers must be a list`);
  const fields = regs.map((r: Record<string, unknown>, i): FaceField => {
    const where = `template ${String(doc['id'])} register ${i} (${String(r['name'])})`;
    const area = String(r['area']);
    const type = String(r['type']);
    const order = String(r['order'] ?? dflt);
    if (!AREAS.has(area)) throw new Error(`${where}: unknown area ${area}`);
    if (!(type in TYPES)) throw new Error(`${where}: unknown type ${type}`);
    if (!ORDERS.has(order)) throw new Error(`${where}: unknown order ${order}`);
    const address = Number(r['address']);
    if (!Number.isInteger(address) || address < 0 || address > 65535) throw new Error(`${where}: bad address`);
    const bitArea = area === 'coil' || area === 'discrete';
    const bit = r['bit'] === undefined ? null : Number(r['bit']);
    if (!bitArea && type === 'bit' && (bit === null || !(bit >= 0 && bit <= 15))) throw new Error(`${where}: a bit in a register needs bit 0..15`);
    return {
      name: String(r['name']),
      area: area as FaceArea,
      address,
      type: type as FaceType,
      order: order as FaceOrder,
      bit,
      scale: r['scale'] === undefined ? 1 : Number(r['scale']),
      offset: r['offset'] === undefined ? 0 : Number(r['offset']),
      writable: r['writable'] === true,
      width: bitArea ? 1 : TYPES[type]!,
    };
  });
  return { id: String(doc['id']), fields };
}
