/**
 * One record of the buffer's log: a 24-byte header and a payload (one write batch). Little-endian:
 *
 *     offset  size  field
 *          0     4  magic 0x31424757 ("WGB1")
 *          4     4  payload length, bytes
 *          8     4  readings in the payload
 *         12     8  appended at, epoch ms (float64), for the oldest-age metric
 *         20     4  CRC-32 of bytes 0..19 and the payload
 *         24     n  payload
 *
 * A record is valid only when the header is complete, the magic matches and the CRC agrees: a record torn by a crash
 * during its append, or damaged on disk, is recognised and never half-read.
 */
import { crc32 } from 'node:zlib';

export const RECORD_MAGIC = 0x31424757;
export const HEADER_BYTES = 24;

export interface RecordMeta {
  /** Whole record length, header included. */
  size: number;
  count: number;
  appendedAt: number;
}

export function encodeRecord(payload: Buffer, count: number, appendedAt: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(RECORD_MAGIC, 0);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt32LE(count, 8);
  header.writeDoubleLE(appendedAt, 12);
  header.writeUInt32LE(crc32(payload, crc32(header.subarray(0, 20))), 20);
  return header;
}

export type ParseResult =
  | { ok: true; meta: RecordMeta; payload: Buffer }
  /** `incomplete`: the bytes end inside the record (a torn tail, or more must be read); `corrupt`: it can never be valid. */
  | { ok: false; problem: 'incomplete' | 'corrupt'; need?: number; detail: string };

/** Parses the record starting at `offset` of `buf`; `buf` may end anywhere. */
export function parseRecord(buf: Buffer, offset: number): ParseResult {
  const avail = buf.length - offset;
  if (avail < HEADER_BYTES) return { ok: false, problem: 'incomplete', need: HEADER_BYTES, detail: `${avail} of ${HEADER_BYTES} header bytes` };
  if (buf.readUInt32LE(offset) !== RECORD_MAGIC) return { ok: false, problem: 'corrupt', detail: 'bad magic' };
  const length = buf.readUInt32LE(offset + 4);
  const size = HEADER_BYTES + length;
  if (avail < size) return { ok: false, problem: 'incomplete', need: size, detail: `${avail} of ${size} record bytes` };
  const payload = buf.subarray(offset + HEADER_BYTES, offset + size);
  const crc = crc32(payload, crc32(buf.subarray(offset, offset + 20)));
  if (crc !== buf.readUInt32LE(offset + 20)) return { ok: false, problem: 'corrupt', detail: 'CRC mismatch' };
  return { ok: true, meta: { size, count: buf.readUInt32LE(offset + 8), appendedAt: buf.readDoubleLE(offset + 12) }, payload };
}
