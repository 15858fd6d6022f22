/**
 * One polled device: its connection, its poll cycle, its queue of operations, its statistics.
 *
 * Contract:
 * - Operations on a device (polls, writes with their read-back) run one at a time, in queue order, over the device's
 *   own connection, so a write never interleaves with a poll. A write goes ahead of a poll that is waiting.
 * - A cycle that comes due while the previous poll still runs is counted as missed (not queued: a device that cannot
 *   keep up is polled as often as it answers, never with a growing backlog). Cycles due while the device is
 *   disconnected are counted as down. A poll whose data arrived more than half an interval after its due time is late.
 * - Every request holds a slot of the source-wide limiter only while on the wire (≤ timeoutMs), and a device waits
 *   only for its own responses: a dead or slow device never delays another beyond the slots it holds.
 * - When a poll gets no answer (timeouts after retries, a closed or broken connection), the device is marked down:
 *   one status reading with quality bad and no fields is emitted (the pipeline marks the asset's latest values bad),
 *   the connection is destroyed and re-opened with backoff (`reconnectDelay`). The first good response marks it up.
 *   A connection closed by the device while idle is re-opened at once and marks nothing unless that fails.
 * - Exceptions are answers: the device is up. Illegal data address on a coalesced read splits that read into one
 *   read per field for this device from then on (so one missing register costs only its own field); fields whose
 *   reads fail are left out of the reading, counted, and logged at a bounded rate. Busy/acknowledge are retried.
 * - Reading timestamps are the time the poll's last response arrived (Modbus carries no timestamps).
 */
import type { Clock, TimerHandle } from '../../../core/clock.ts';
import { WarmgridError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/log.ts';
import type { RateLimitedLog } from '../../../core/log.ts';
import type { FieldValue, Reading } from '../../reading.ts';
import type { WriteResult } from '../../source.ts';
import type { ResolvedDevice } from './config.ts';
import { exceptionCode, isBusy, isGatewayFailure, ModbusConnection } from './connection.ts';
import { encodeValue, writeTolerance } from './decode.ts';
import { isBitArea, splitRequest, type ReadRequest } from './planner.ts';
import { Cadence, isLate, reconnectDelay, type Limiter } from './scheduler.ts';
import type { CompiledField, CompiledTemplate } from './template.ts';

export type DeviceState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface DeviceStats {
  id: string;
  asset: string;
  address: string;
  state: DeviceState;
  /** true after a good response, false after the device stopped answering, null before the first answer. */
  commOk: boolean | null;
  cycles: number;
  polls: number;
  pollsOk: number;
  pollsFailed: number;
  missed: number;
  late: number;
  down: number;
  requests: number;
  timeouts: number;
  exceptions: number;
  busy: number;
  badFields: number;
  invalidValues: number;
  connects: number;
  connectFailures: number;
  commLosses: number;
  writes: number;
  writeErrors: number;
  /** Mean request round trip (exponentially weighted, ms) and the largest seen. */
  latencyMs: number;
  maxLatencyMs: number;
  lastPollAt: number | null;
  lastError: string | null;
}

export interface DeviceEnv {
  clock: Clock;
  limiter: Limiter;
  log: Logger;
  warn: RateLimitedLog;
  connectTimeoutMs: number;
  reconnect: { minMs: number; maxMs: number };
  deliver(reading: Reading): void;
  random?: () => number;
}

interface Op {
  kind: 'poll' | 'write';
  run(): Promise<void>;
  cancel(err: Error): void;
}

export class DevicePoller {
  readonly cfg: ResolvedDevice;
  readonly template: CompiledTemplate;
  readonly source: string;
  readonly #env: DeviceEnv;
  readonly #cadence: Cadence;
  #plan: readonly ReadRequest[];
  #planSplit = false;
  #conn: ModbusConnection | null = null;
  #state: DeviceState = 'idle';
  #commOk: boolean | null = null;
  #failures = 0;
  #reconnectTimer: TimerHandle | null = null;
  readonly #queue: Op[] = [];
  #current: Op | null = null;
  #currentDone: Promise<void> | null = null;
  #pollQueued = false;
  readonly #stats: Omit<DeviceStats, 'id' | 'asset' | 'address' | 'state' | 'commOk'> = {
    cycles: 0,
    polls: 0,
    pollsOk: 0,
    pollsFailed: 0,
    missed: 0,
    late: 0,
    down: 0,
    requests: 0,
    timeouts: 0,
    exceptions: 0,
    busy: 0,
    badFields: 0,
    invalidValues: 0,
    connects: 0,
    connectFailures: 0,
    commLosses: 0,
    writes: 0,
    writeErrors: 0,
    latencyMs: 0,
    maxLatencyMs: 0,
    lastPollAt: null,
    lastError: null,
  };

  constructor(cfg: ResolvedDevice, template: CompiledTemplate, plan: readonly ReadRequest[], env: DeviceEnv) {
    this.cfg = cfg;
    this.template = template;
    this.source = `modbus:${cfg.id}`;
    this.#plan = plan;
    this.#env = env;
    this.#cadence = new Cadence(env.clock, cfg.intervalMs, (due, skipped) => this.#onDue(due, skipped));
  }

  get state(): DeviceState {
    return this.#state;
  }

  get commOk(): boolean | null {
    return this.#commOk;
  }

  get plan(): readonly ReadRequest[] {
    return this.#plan;
  }

  stats(): DeviceStats {
    return {
      id: this.cfg.id,
      asset: this.cfg.asset,
      address: `${this.cfg.host}:${this.cfg.port}/${this.cfg.unitId}`,
      state: this.#state,
      commOk: this.#commOk,
      ...this.#stats,
      latencyMs: Math.round(this.#stats.latencyMs * 100) / 100,
    };
  }

  /** Connects now and starts the poll cycle with its first poll due `phaseMs` from now. */
  start(phaseMs: number): void {
    this.#connect();
    this.#cadence.start(phaseMs);
  }

  /** Stops polling, fails queued writes, waits for the operation in progress to end, closes the connection. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#cadence.stop();
    if (this.#reconnectTimer) this.#env.clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    const err = new WarmgridError('WRITE_FAILED', `device ${this.cfg.id}: the source is stopping`, { retryable: true });
    for (const op of this.#queue.splice(0)) op.cancel(err);
    this.#conn?.destroy();
    this.#conn = null;
    await this.#currentDone;
  }

  // ---- connection ---------------------------------------------------------------------------------------------

  #connect(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'connecting';
    this.#stats.connects++;
    ModbusConnection.open(this.cfg.host, this.cfg.port, this.#env.connectTimeoutMs, this.#env.clock).then(
      (conn) => {
        if (this.#state === 'stopped') {
          conn.destroy();
          return;
        }
        this.#conn = conn;
        this.#state = 'connected';
        conn.onClose((err) => this.#linkLost(conn, err));
      },
      (err: Error) => {
        if (this.#state === 'stopped') return;
        this.#stats.connectFailures++;
        this.#failures++;
        this.#markDown(err);
        this.#scheduleReconnect();
      },
    );
  }

  #scheduleReconnect(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'backoff';
    const delay = reconnectDelay(this.#failures, this.#env.reconnect.minMs, this.#env.reconnect.maxMs, this.#env.random);
    this.#reconnectTimer = this.#env.clock.setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connect();
    }, delay);
  }

  /** The device closed the connection. With an operation in flight, that operation reports the failure. */
  #linkLost(conn: ModbusConnection, err: Error): void {
    if (this.#conn !== conn || this.#state === 'stopped') return;
    this.#conn = null;
    this.#stats.lastError = err.message;
    if (this.#current) {
      this.#state = 'idle';
      return;
    }
    this.#failures++;
    this.#scheduleReconnect();
  }

  /** A poll or write found the link unusable: drop it and reconnect with backoff. */
  #dropLink(): void {
    this.#conn?.destroy();
    this.#conn = null;
    this.#failures++;
    this.#scheduleReconnect();
  }

  #markDown(err: Error): void {
    this.#stats.lastError = err.message;
    if (this.#commOk === false) return;
    this.#commOk = false;
    this.#stats.commLosses++;
    this.#env.deliver({ asset: this.cfg.asset, ts: this.#env.clock.now(), fields: {}, quality: 'bad', source: this.source });
    this.#env.warn.warn(`down:${this.cfg.id}`, { device: this.cfg.id, asset: this.cfg.asset, err }, 'modbus device not answering; retrying with backoff');
  }

  #markUp(): void {
    this.#failures = 0;
    if (this.#commOk === true) return;
    if (this.#commOk === false) this.#env.log.debug({ device: this.cfg.id }, 'modbus device answering again');
    this.#commOk = true;
  }

  // ---- queue --------------------------------------------------------------------------------------------------

  #onDue(due: number, skipped: number): void {
    const s = this.#stats;
    s.cycles += 1 + skipped;
    s.missed += skipped;
    if (this.#state !== 'connected') {
      s.down++;
      return;
    }
    if (this.#pollQueued || this.#current?.kind === 'poll') {
      s.missed++;
      return;
    }
    this.#pollQueued = true;
    this.#enqueue(
      {
        kind: 'poll',
        run: () => {
          this.#pollQueued = false;
          return this.#poll(due);
        },
        cancel: () => {
          this.#pollQueued = false;
        },
      },
      false,
    );
  }

  #enqueue(op: Op, front: boolean): void {
    if (front) {
      // Ahead of a waiting poll, behind earlier writes.
      const firstPoll = this.#queue.findIndex((o) => o.kind === 'poll');
      if (firstPoll < 0) this.#queue.push(op);
      else this.#queue.splice(firstPoll, 0, op);
    } else {
      this.#queue.push(op);
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#current || this.#state === 'stopped') return;
    const op = this.#queue.shift();
    if (!op) return;
    this.#current = op;
    this.#currentDone = op.run().then(
      () => this.#opDone(),
      (err: unknown) => {
        this.#env.log.error({ err, device: this.cfg.id }, 'modbus device operation failed unexpectedly');
        this.#opDone();
      },
    );
  }

  #opDone(): void {
    this.#current = null;
    this.#currentDone = null;
    // The link closed during the operation without the operation noticing (e.g. after its last response).
    if (this.#state === 'idle' && this.#conn === null) this.#dropLink();
    this.#pump();
  }

  // ---- requests -----------------------------------------------------------------------------------------------

  /**
   * One request with retries on busy and, for reads, on timeout; each attempt holds a limiter slot while on the wire.
   * Writes are not repeated after a timeout: nobody knows whether the device acted, so that is the caller's call.
   */
  async #attempt<T>(conn: ModbusConnection, send: () => Promise<T>, retryTimeouts = true): Promise<T> {
    const retries = this.cfg.retries;
    const { clock, limiter } = this.#env;
    for (let attempt = 0; ; attempt++) {
      if (!limiter.tryAcquire()) await limiter.acquire();
      const t0 = clock.now();
      let retryAfter = -1;
      try {
        this.#stats.requests++;
        const r = await send();
        this.#latency(clock.now() - t0);
        return r;
      } catch (err) {
        if (this.#state === 'stopped' || attempt >= retries) throw err;
        if (err instanceof WarmgridError && err.code === 'MODBUS_TIMEOUT') {
          if (!retryTimeouts) throw err;
          this.#stats.timeouts++;
          retryAfter = 0;
        } else if (isBusy(err)) {
          this.#stats.busy++;
          retryAfter = Math.min(200, Math.max(10, this.cfg.intervalMs / 10));
        } else throw err;
      } finally {
        limiter.release();
      }
      if (!conn.isOpen) throw new WarmgridError('SOURCE_ERROR', `connection to ${conn.host}:${conn.port} closed`, { retryable: true });
      if (retryAfter > 0) await new Promise<void>((r) => clock.setTimeout(r, retryAfter));
    }
  }

  #latency(ms: number): void {
    const s = this.#stats;
    s.latencyMs = s.latencyMs === 0 ? ms : s.latencyMs + (ms - s.latencyMs) * 0.1;
    if (ms > s.maxLatencyMs) s.maxLatencyMs = ms;
  }

  async #poll(due: number): Promise<void> {
    const s = this.#stats;
    const conn = this.#conn;
    if (!conn || !conn.isOpen) {
      s.down++;
      return;
    }
    s.polls++;
    const clock = this.#env.clock;
    const fields: Record<string, FieldValue> = {};
    let nFields = 0;
    let lastResponse = 0;
    let linkError: Error | null = null;
    const work = [...this.#plan];
    for (let i = 0; i < work.length; i++) {
      const req = work[i]!;
      let bytes: Uint8Array;
      try {
        bytes = await this.#attempt(conn, () => conn.read(req.area, this.cfg.unitId, req.address, req.count, this.cfg.timeoutMs));
      } catch (err) {
        if (this.#state === 'stopped') return;
        if (exceptionCode(err) !== undefined && !isGatewayFailure(err)) {
          lastResponse = clock.now();
          const split = this.#onException(req, err as WarmgridError);
          if (split) work.splice(i + 1, 0, ...split);
          continue;
        }
        if (err instanceof WarmgridError && err.code === 'MODBUS_TIMEOUT') s.timeouts++;
        linkError = err as Error;
        break;
      }
      lastResponse = clock.now();
      const bitArea = isBitArea(req.area);
      for (const pf of req.fields) {
        const f = this.template.fields[pf.index]!;
        const v = f.decode(bytes, bitArea ? pf.offset : pf.offset * 2);
        if (typeof v === 'number' && !Number.isFinite(v)) {
          s.invalidValues++;
          continue;
        }
        fields[f.name] = v;
        nFields++;
      }
    }
    if (this.#state === 'stopped') return;
    s.lastPollAt = clock.now();
    if (linkError) {
      s.pollsFailed++;
      this.#markDown(linkError);
      // A gateway answering "target did not respond" is itself fine: keep its connection.
      if (isGatewayFailure(linkError)) this.#failures++;
      else this.#dropLink();
      return;
    }
    s.pollsOk++;
    this.#markUp();
    if (isLate(due, lastResponse, this.cfg.intervalMs)) s.late++;
    if (nFields > 0) this.#env.deliver({ asset: this.cfg.asset, ts: lastResponse, fields, quality: 'good', source: this.source });
  }

  /** An exception answer to a read: count, log (bounded), and split a coalesced read on illegal address. */
  #onException(req: ReadRequest, err: WarmgridError): ReadRequest[] | null {
    const s = this.#stats;
    s.exceptions++;
    const code = exceptionCode(err);
    if (isBusy(err)) s.busy++;
    if (code === 2 && req.fields.length > 1 && !this.cfg.perFieldReads) {
      const split = splitRequest(req, (i) => this.template.fields[i]!.count);
      if (split.length > 1) {
        this.#plan = this.#plan.flatMap((r) => (r === req ? split : [r]));
        this.#planSplit = true;
        this.#env.warn.warn(`split:${this.cfg.id}`, { device: this.cfg.id, err }, 'modbus device refused a coalesced read; reading those fields one by one from now on');
        return split;
      }
    }
    s.badFields += req.fields.length;
    const names = req.fields.map((f) => this.template.fields[f.index]!.name);
    this.#env.warn.warn(`exception:${this.cfg.id}:${code}`, { device: this.cfg.id, fields: names.slice(0, 20), err }, 'modbus device answered a read with an exception; those fields are left out');
    return null;
  }

  /** True when the device's reads were split after an illegal-address exception. */
  get planSplit(): boolean {
    return this.#planSplit;
  }

  // ---- writes -------------------------------------------------------------------------------------------------

  /**
   * Writes one field (already checked against the template and the device's write settings) through the device's
   * queue, then reads it back. Rejects with WRITE_FAILED when the device is down, refuses or does not answer.
   */
  write(field: CompiledField, value: number | boolean): Promise<WriteResult> {
    return new Promise<WriteResult>((resolve, reject) => {
      if (this.#state === 'stopped') {
        reject(new WarmgridError('WRITE_FAILED', `device ${this.cfg.id}: the source is stopped`, { retryable: true }));
        return;
      }
      this.#enqueue(
        {
          kind: 'write',
          run: () => this.#write(field, value).then(resolve, reject),
          cancel: reject,
        },
        true,
      );
    });
  }

  async #write(field: CompiledField, value: number | boolean): Promise<WriteResult> {
    const s = this.#stats;
    const conn = this.#conn;
    const base = { asset: this.cfg.asset, point: field.name, requested: value };
    const fail = (message: string, cause?: unknown, retryable = false): WarmgridError => {
      s.writeErrors++;
      return new WarmgridError('WRITE_FAILED', `${this.cfg.asset}.${field.name} on device ${this.cfg.id}: ${message}`, { cause, retryable, details: base });
    };
    if (!conn || !conn.isOpen || this.#commOk === false) {
      throw fail(`the device is not answering${this.#stats.lastError ? ` (${this.#stats.lastError})` : ''}`, undefined, true);
    }
    s.writes++;
    const unit = this.cfg.unitId;
    const timeout = this.cfg.timeoutMs;
    try {
      if (field.area === 'coil') {
        await this.#attempt(conn, () => conn.writeCoil(unit, field.address, value === true || value === 1, timeout), false);
      } else {
        const enc = encodeValue(Number(value), field.codec);
        if (!enc.ok) throw fail(enc.message);
        // FC6 for one register, FC16 for 32- and 64-bit values (Modbus Application Protocol §6.6, §6.12).
        if (enc.registers.length === 1) await this.#attempt(conn, () => conn.writeRegister(unit, field.address, enc.registers[0]!, timeout), false);
        else await this.#attempt(conn, () => conn.writeRegisters(unit, field.address, enc.registers, timeout), false);
      }
    } catch (err) {
      if (err instanceof WarmgridError && err.code === 'WRITE_FAILED') throw err;
      if (err instanceof WarmgridError && err.code === 'MODBUS_TIMEOUT') {
        this.#dropLink();
        throw fail('no response to the write; it may or may not have taken effect', err, false);
      }
      if (exceptionCode(err) !== undefined) throw fail(`the device refused the write: ${(err as Error).message}`, err, isBusy(err));
      this.#dropLink();
      throw fail(`the write failed: ${(err as Error).message}`, err, true);
    }

    // Read back what the device now holds.
    try {
      const bytes = await this.#attempt(conn, () => conn.read(field.area, unit, field.address, field.count, timeout));
      const rb = field.decode(bytes, 0);
      const ok = typeof rb === 'boolean' ? rb === (value === true || value === 1) : Math.abs(rb - Number(value)) <= writeTolerance(Number(value), field.codec);
      return { ...base, readBack: rb, ok, ...(ok ? {} : { message: `the device holds ${String(rb)} after writing ${String(value)}` }) };
    } catch (err) {
      return { ...base, readBack: null, ok: false, message: `written, but the read-back failed: ${(err as Error).message}` };
    }
  }
}
