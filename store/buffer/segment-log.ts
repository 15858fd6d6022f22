/**
 * SegmentLog: the buffer's on-disk queue, a segmented append-only log with a persisted read position.
 *
 *     <dir>/00000000000000000007.seg   records (record.ts), appended at the end, never rewritten
 *     <dir>/00000000000000000008.seg   a segment is closed when the next record would take it past `segmentBytes`
 *     <dir>/cursor.json                {"segment": 7, "offset": 123456}: everything before it was delivered
 *
 * Contract:
 * - `append(payload)` resolves once the record is on disk (write + fdatasync; a new segment's directory entry is
 *   fsynced too), so it survives kill -9 and power loss. It rejects with BACKPRESSURE when the log would grow past
 *   `maxBytes` (segment files counted whole). Appends are applied one at a time in call order.
 * - `read(limits, from)` returns the records from `from` (default: the cursor) on, oldest first, without consuming
 *   them, so a reader may read ahead while it delivers; `commit(records)` moves the cursor past records previously
 *   returned by `read` (the next ones after the cursor, in order, none skipped), deletes the segments left behind, and
 *   rewrites cursor.json. One reader, whose commits do not overlap.
 * - The cursor file is written without fsync: if a crash loses its latest version, the older one makes the reader
 *   deliver some records a second time, which the remote store absorbs (writes are idempotent per asset, field, ts).
 *   It never runs ahead of delivered data, because it is written only after the remote accepted the records.
 * - `open` recovers: it checks every record from the cursor on (CRC). A torn record at the end of the newest segment
 *   (a crash during its append, which was therefore never acknowledged) is cut off and counted in `tornBytes`; a bad
 *   record anywhere else ends that segment's readable part (`corruptBytes`, logged as an error). A cursor that does not
 *   fall on a record boundary restarts its segment from the beginning. Nothing throws for damaged data.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { open, readFile, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { systemClock, type Clock } from '../../core/clock.ts';
import { WarmgridError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import { encodeRecord, HEADER_BYTES, parseRecord, type RecordMeta } from './record.ts';

export interface SegmentLogOptions {
  dir: string;
  /** Most bytes of segment files on disk. */
  maxBytes: number;
  /** Size at which a segment is closed and the next one started. */
  segmentBytes: number;
  clock?: Clock;
  log?: Logger;
  /** Called during `open` for each undelivered record, oldest first (the buffer rebuilds latest values from them). */
  onRecovered?: (payload: Buffer, meta: RecordMeta) => void;
}

export interface Position {
  segment: number;
  offset: number;
}

export interface LogRecord {
  at: Position;
  meta: RecordMeta;
  payload: Buffer;
}

export interface ReadLimits {
  /** Stop before the record that would take the readings past this (at least one record is returned). */
  maxReadings: number;
  /** Bytes to read at once (a larger single record is still returned whole). */
  maxBytes: number;
}

export interface RecoveryReport {
  segments: number;
  records: number;
  readings: number;
  bytes: number;
  tornBytes: number;
  corruptBytes: number;
  /** The cursor was missing, damaged or off a record boundary. */
  cursorReset: boolean;
}

export interface SegmentLogStats {
  /** Bytes of segment files on disk. */
  bytes: number;
  maxBytes: number;
  segments: number;
  /** Undelivered records and the readings in them. */
  records: number;
  readings: number;
  /** Append time of the oldest undelivered record, epoch ms; null when the log is empty. */
  oldestAppendedAt: number | null;
}

interface Segment {
  id: number;
  /** Bytes of valid records; appends go here. */
  size: number;
  records: number;
  readings: number;
}

const SEGMENT_RE = /^(\d{20})\.seg$/;
const CURSOR_FILE = 'cursor.json';

function segmentName(id: number): string {
  return `${String(id).padStart(20, '0')}.seg`;
}

export class SegmentLog {
  readonly dir: string;
  readonly #opts: SegmentLogOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Segments on disk from the cursor's on, oldest first; the last one takes appends. */
  readonly #segments: Segment[] = [];
  #cursor: Position = { segment: 1, offset: 0 };
  /** Records and readings of the cursor's segment that lie before the cursor. */
  #consumedRecords = 0;
  #consumedReadings = 0;
  #bytes = 0;
  #oldestAppendedAt: number | null = null;
  #tail: FileHandle | null = null;
  /** Read handles by segment id, closed when their segment is deleted. */
  readonly #readers = new Map<number, FileHandle>();
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;
  report: RecoveryReport = { segments: 0, records: 0, readings: 0, bytes: 0, tornBytes: 0, corruptBytes: 0, cursorReset: false };

  private constructor(opts: SegmentLogOptions) {
    this.dir = opts.dir;
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.log ?? silentLogger();
  }

  static async open(opts: SegmentLogOptions): Promise<SegmentLog> {
    if (!(opts.segmentBytes > HEADER_BYTES) || !(opts.maxBytes >= opts.segmentBytes)) {
      throw new WarmgridError('CONFIG_INVALID', `buffer: need maxBytes (${opts.maxBytes}) ≥ segmentBytes (${opts.segmentBytes}) > ${HEADER_BYTES}`);
    }
    const log = new SegmentLog(opts);
    await log.#recover();
    return log;
  }

  get cursor(): Position {
    return { ...this.#cursor };
  }

  get empty(): boolean {
    return this.#pendingRecords() === 0;
  }

  stats(): SegmentLogStats {
    return {
      bytes: this.#bytes,
      maxBytes: this.#opts.maxBytes,
      segments: this.#segments.length,
      records: this.#pendingRecords(),
      readings: this.#segments.reduce((n, s) => n + s.readings, 0) - this.#consumedReadings,
      oldestAppendedAt: this.#pendingRecords() > 0 ? this.#oldestAppendedAt : null,
    };
  }

  /** Whether a payload of this size would fit now. */
  fits(payloadBytes: number): boolean {
    return this.#bytes + HEADER_BYTES + payloadBytes <= this.#opts.maxBytes;
  }

  append(payload: Buffer, count: number): Promise<void> {
    return this.#locked(() => this.#append(payload, count));
  }

  async read(limits: ReadLimits, from: Position = this.#cursor): Promise<LogRecord[]> {
    this.#assertOpen();
    let seg = this.#segments.find((sg) => sg.id === from.segment);
    let start = from.offset;
    if (seg && start >= seg.size) {
      // The end of a closed segment: go on with the next one.
      const next = this.#segments[this.#segments.indexOf(seg) + 1];
      if (next) {
        seg = next;
        start = 0;
      }
    }
    if (!seg || start >= seg.size) return [];
    const fh = await this.#readerFor(seg.id);
    let buf = await readAt(fh, start, Math.min(seg.size - start, Math.max(limits.maxBytes, HEADER_BYTES)));
    const out: LogRecord[] = [];
    let off = 0;
    let readings = 0;
    while (start + off < seg.size) {
      let r = parseRecord(buf, off);
      if (!r.ok && r.problem === 'incomplete' && out.length === 0 && r.need !== undefined && start + r.need <= seg.size) {
        buf = await readAt(fh, start, r.need);
        r = parseRecord(buf, off);
      }
      if (!r.ok) {
        if (r.problem === 'incomplete') break;
        // A read ahead stops here; the read from the cursor that follows deals with the damage.
        if (seg.id !== this.#cursor.segment || start !== this.#cursor.offset) break;
        // Recovery checked these bytes; damage since then (a failing disk) loses the rest of this segment only.
        this.#log.error({ segment: seg.id, offset: start + off, detail: r.detail }, 'buffer segment damaged after recovery; skipping the rest of it');
        this.report.corruptBytes += seg.size - (start + off);
        this.#bytes -= seg.size - (start + off);
        seg.size = start + off;
        // What lay beyond is lost: count it as consumed so the next commit moves on to the next segment.
        seg.records = this.#consumedRecords + out.length;
        seg.readings = this.#consumedReadings + readings;
        break;
      }
      if (out.length > 0 && readings + r.meta.count > limits.maxReadings) break;
      out.push({ at: { segment: seg.id, offset: start + off }, meta: r.meta, payload: r.payload });
      readings += r.meta.count;
      off += r.meta.size;
    }
    return out;
  }

  /** Moves the cursor past `records`, which must be the next records after it, in order. */
  commit(records: readonly LogRecord[]): Promise<void> {
    return this.#locked(async () => {
      for (const r of records) {
        if (r.at.segment !== this.#cursor.segment || r.at.offset !== this.#cursor.offset) {
          throw new WarmgridError('INTERNAL', `buffer commit out of order: record at ${r.at.segment}:${r.at.offset}, cursor at ${this.#cursor.segment}:${this.#cursor.offset}`);
        }
        this.#cursor.offset += r.meta.size;
        this.#consumedRecords++;
        this.#consumedReadings += r.meta.count;
      }
      await this.#advance();
      await this.#writeCursor();
      await this.#refreshOldest();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#locked(async () => {
      this.#closed = true;
      for (const fh of this.#readers.values()) await fh.close();
      this.#readers.clear();
      await this.#tail?.close();
      this.#tail = null;
    });
  }

  #pendingRecords(): number {
    return this.#segments.reduce((n, s) => n + s.records, 0) - this.#consumedRecords;
  }

  #assertOpen(): void {
    if (this.#closed) throw new WarmgridError('SHUTTING_DOWN', 'buffer log is closed');
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(() => {
      this.#assertOpen();
      return fn();
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #append(payload: Buffer, count: number): Promise<void> {
    const size = HEADER_BYTES + payload.length;
    if (!this.fits(payload.length)) {
      throw new WarmgridError('BACKPRESSURE', `store-and-forward buffer is full (${this.#bytes} of ${this.#opts.maxBytes} bytes); the batch was not accepted`, {
        retryable: true,
        details: { bufferBytes: this.#bytes, maxBytes: this.#opts.maxBytes },
      });
    }
    let tail = this.#segments.at(-1);
    if (!tail || !this.#tail || (tail.size > 0 && tail.size + size > this.#opts.segmentBytes)) tail = await this.#rotate();
    const appendedAt = this.#clock.now();
    const header = encodeRecord(payload, count, appendedAt);
    try {
      await this.#tail!.writev([header, payload], tail.size);
      await this.#tail!.datasync();
    } catch (err) {
      // Nothing counts as written; cut off what part of the record reached the file (the next append would write over
      // it anyway, but a rotation first would leave it inside a closed segment).
      await this.#tail!.truncate(tail.size).catch(() => undefined);
      throw new WarmgridError('STORE_WRITE_FAILED', `cannot write to the store-and-forward buffer in ${this.dir}`, { cause: err, retryable: true });
    }
    if (this.#pendingRecords() === 0) this.#oldestAppendedAt = appendedAt;
    tail.size += size;
    tail.records++;
    tail.readings += count;
    this.#bytes += size;
  }

  /** Closes the tail segment and starts the next one. */
  async #rotate(): Promise<Segment> {
    await this.#tail?.close();
    this.#tail = null;
    const last = this.#segments.at(-1);
    const id = Math.max(last ? last.id + 1 : 0, this.#cursor.segment);
    const file = path.join(this.dir, segmentName(id));
    const fh = await open(file, 'wx+');
    await fsyncDir(this.dir);
    this.#tail = fh;
    const seg: Segment = { id, size: 0, records: 0, readings: 0 };
    this.#segments.push(seg);
    if (this.#segments.length === 1) this.#cursor = { segment: id, offset: 0 };
    return seg;
  }

  /**
   * After the cursor moved: drops segments it has left (closing the reader on them) and, once everything is
   * delivered, the tail too, so an idle buffer holds no files; the next append starts a fresh segment.
   */
  async #advance(): Promise<void> {
    for (;;) {
      const head = this.#segments[0];
      if (!head || this.#cursor.offset < head.size) return;
      const isTail = this.#segments.length === 1;
      this.#segments.shift();
      this.#bytes -= head.size;
      this.#consumedRecords = 0;
      this.#consumedReadings = 0;
      this.#cursor = { segment: isTail ? head.id + 1 : this.#segments[0]!.id, offset: 0 };
      await this.#readers.get(head.id)?.close();
      this.#readers.delete(head.id);
      if (isTail) {
        await this.#tail?.close();
        this.#tail = null;
      }
      // The cursor goes first: a crash between the two leaves a file behind the cursor, which open deletes.
      await this.#writeCursor();
      await unlink(path.join(this.dir, segmentName(head.id))).catch((err: unknown) => this.#log.warn({ err, segment: head.id }, 'cannot delete a delivered buffer segment'));
    }
  }

  async #refreshOldest(): Promise<void> {
    const head = this.#segments[0];
    if (!head || this.#cursor.offset >= head.size) {
      this.#oldestAppendedAt = null;
      return;
    }
    const buf = await readAt(await this.#readerFor(head.id), this.#cursor.offset, HEADER_BYTES);
    this.#oldestAppendedAt = buf.length === HEADER_BYTES ? buf.readDoubleLE(12) : null;
  }

  async #readerFor(id: number): Promise<FileHandle> {
    let fh = this.#readers.get(id);
    if (!fh) {
      fh = await open(path.join(this.dir, segmentName(id)), 'r');
      // Another read may have opened it meanwhile.
      const other = this.#readers.get(id);
      if (other) {
        await fh.close();
        return other;
      }
      this.#readers.set(id, fh);
    }
    return fh;
  }

  async #writeCursor(): Promise<void> {
    const file = path.join(this.dir, CURSOR_FILE);
    await writeFile(`${file}.tmp`, JSON.stringify(this.#cursor));
    await rename(`${file}.tmp`, file);
  }

  async #readCursor(): Promise<Position | null> {
    try {
      const c = JSON.parse(await readFile(path.join(this.dir, CURSOR_FILE), 'utf8')) as Partial<Position>;
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset) && c.segment! >= 0 && c.offset! >= 0) return { segment: c.segment!, offset: c.offset! };
    } catch {
      // missing or damaged: start from the oldest segment
    }
    return null;
  }

  async #recover(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const report = this.report;
    const ids = readdirSync(this.dir)
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((m): m is string => m !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const saved = await this.#readCursor();
    let cursor: Position;
    if (!saved) {
      cursor = { segment: ids[0] ?? 1, offset: 0 };
      report.cursorReset = ids.length > 0;
    } else if (ids.length > 0 && saved.segment < ids[0]!) {
      // The cursor's segment is gone (it should not be): deliver everything that is left.
      cursor = { segment: ids[0]!, offset: 0 };
      report.cursorReset = true;
    } else {
      cursor = saved;
    }
    for (const id of ids) {
      if (id < cursor.segment) await unlink(path.join(this.dir, segmentName(id)));
    }
    const live = ids.filter((id) => id >= cursor.segment);
    if (live.length > 0 && live[0] !== cursor.segment) cursor = { segment: live[0]!, offset: 0 };
    for (const [i, id] of live.entries()) {
      const file = path.join(this.dir, segmentName(id));
      const data = await readFile(file);
      const last = i === live.length - 1;
      const seg: Segment = { id, size: 0, records: 0, readings: 0 };
      const boundaries = new Set<number>([0]);
      let off = 0;
      while (off < data.length) {
        const r = parseRecord(data, off);
        if (!r.ok) {
          const lost = data.length - off;
          if (last) {
            report.tornBytes += lost;
            this.#log.warn({ segment: id, offset: off, bytes: lost, detail: r.detail }, 'buffer: cut off a torn record at the end of the log (a write interrupted by a crash, never acknowledged)');
            const fh = await open(file, 'r+');
            await fh.truncate(off);
            await fh.datasync();
            await fh.close();
          } else {
            report.corruptBytes += lost;
            this.#log.error({ segment: id, offset: off, bytes: lost, detail: r.detail }, 'buffer segment damaged: the rest of it cannot be read and is skipped');
          }
          break;
        }
        seg.records++;
        seg.readings += r.meta.count;
        off += r.meta.size;
        boundaries.add(off);
      }
      seg.size = off;
      if (id === cursor.segment && !boundaries.has(cursor.offset)) {
        this.#log.warn({ segment: id, offset: cursor.offset }, 'buffer cursor is not on a record boundary; delivering its segment again from the start');
        cursor = { segment: id, offset: 0 };
        report.cursorReset = true;
      }
      // Undelivered records, for the caller's latest values; count what lies before the cursor as consumed.
      let p = 0;
      while (p < seg.size) {
        const r = parseRecord(data, p) as Extract<ReturnType<typeof parseRecord>, { ok: true }>;
        if (id === cursor.segment && p < cursor.offset) {
          this.#consumedRecords++;
          this.#consumedReadings += r.meta.count;
        } else {
          if (this.#oldestAppendedAt === null) this.#oldestAppendedAt = r.meta.appendedAt;
          this.#opts.onRecovered?.(r.payload, r.meta);
        }
        p += r.meta.size;
      }
      this.#segments.push(seg);
      this.#bytes += seg.size;
    }
    this.#cursor = cursor;
    if (this.#segments.length > 0) {
      const tail = this.#segments.at(-1)!;
      this.#tail = await open(path.join(this.dir, segmentName(tail.id)), 'r+');
    }
    await this.#advance();
    await this.#writeCursor();
    report.segments = this.#segments.length;
    report.records = this.#pendingRecords();
    report.readings = this.stats().readings;
    report.bytes = this.#bytes;
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
