/**
 * The request planner: which reads cover a device's register map. Pure: no sockets, no clock.
 *
 * Rules (Modbus Application Protocol V1.1b3 §6.1–6.4):
 * - one request reads one area: coils (FC1), discrete inputs (FC2), holding registers (FC3) or input registers (FC4);
 * - at most 125 registers per FC3/FC4 read and at most 2000 bits per FC1/FC2 read;
 * - fields that lie close together are coalesced into one request when the gap between them (registers or bits not
 *   in the map) is at most `maxGap`; a field is never split over two requests (a float32 at the end of a full request
 *   starts the next one);
 * - `perField` plans one request per distinct field span, for devices that refuse reads touching unmapped addresses
 *   or spanning several values.
 * Requests come out in area order (holding, input, coil, discrete), then by address.
 */

export const AREAS = ['holding', 'input', 'coil', 'discrete'] as const;
export type Area = (typeof AREAS)[number];

/** Modbus: at most 125 registers per FC3/FC4 read (§6.3, §6.4). */
export const MAX_REGISTERS_PER_READ = 125;
/** Modbus: at most 2000 coils or discrete inputs per FC1/FC2 read (§6.1, §6.2). */
export const MAX_BITS_PER_READ = 2000;
/** Modbus addresses are 16-bit: 0..65535 (the PDU address, zero-based). */
export const ADDRESS_SPACE = 0x10000;

export function isBitArea(area: Area): boolean {
  return area === 'coil' || area === 'discrete';
}

/** One field to cover: its index in the caller's list, area, first address and length (registers or bits). */
export interface PlanItem {
  index: number;
  area: Area;
  address: number;
  count: number;
}

export interface PlanOptions {
  /** Largest run of unmapped registers (or bits) read to join two fields into one request. */
  maxGap: number;
  /** Registers per FC3/FC4 read, 1..125. */
  maxRegistersPerRead: number;
  /** Bits per FC1/FC2 read, 1..2000 (default 2000). */
  maxBitsPerRead?: number;
  /** One request per field span (fields with the same address and length share one). */
  perField: boolean;
}

export interface PlannedField {
  index: number;
  /** Offset of the field from the request's first address, in registers or bits. */
  offset: number;
}

export interface ReadRequest {
  area: Area;
  address: number;
  count: number;
  fields: PlannedField[];
}

export function planReads(items: readonly PlanItem[], opts: PlanOptions): ReadRequest[] {
  const maxGap = Math.max(0, Math.floor(opts.maxGap));
  const out: ReadRequest[] = [];
  for (const area of AREAS) {
    const limit = isBitArea(area)
      ? clamp(opts.maxBitsPerRead ?? MAX_BITS_PER_READ, 1, MAX_BITS_PER_READ)
      : clamp(opts.maxRegistersPerRead, 1, MAX_REGISTERS_PER_READ);
    const mine = items
      .filter((it) => it.area === area)
      .sort((a, b) => a.address - b.address || b.count - a.count || a.index - b.index);
    let cur: ReadRequest | null = null;
    let end = 0;
    for (const it of mine) {
      if (it.count < 1 || it.count > limit) throw new RangeError(`field ${it.index}: ${it.count} ${isBitArea(area) ? 'bits' : 'registers'} cannot be read in one request (limit ${limit})`);
      if (it.address < 0 || it.address + it.count > ADDRESS_SPACE) throw new RangeError(`field ${it.index}: address ${it.address}+${it.count} is outside 0..65535`);
      const itEnd = it.address + it.count;
      const join =
        cur !== null &&
        (opts.perField ? it.address === cur.address && itEnd === end : it.address - end <= maxGap && Math.max(end, itEnd) - cur.address <= limit);
      if (join && cur) {
        end = Math.max(end, itEnd);
        cur.count = end - cur.address;
        cur.fields.push({ index: it.index, offset: it.address - cur.address });
      } else {
        cur = { area, address: it.address, count: it.count, fields: [{ index: it.index, offset: 0 }] };
        end = itEnd;
        out.push(cur);
      }
    }
  }
  return out;
}

/** Splits a request into one request per field span (used when a device refuses a coalesced read). */
export function splitRequest(req: ReadRequest, counts: (index: number) => number): ReadRequest[] {
  const items = req.fields.map((f) => ({ index: f.index, area: req.area, address: req.address + f.offset, count: counts(f.index) }));
  return planReads(items, { maxGap: 0, maxRegistersPerRead: MAX_REGISTERS_PER_READ, perField: true });
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(v)));
}
