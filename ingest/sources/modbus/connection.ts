/**
 * One Modbus TCP connection, over modbus-serial's client, made safe for a long-running poller.
 *
 * What modbus-serial does and how this wrapper deals with it (modbus-serial 8.x: index.js, ports/tcpport.js):
 * - `connectTCP` never times out on its own when SYNs go unanswered: `open()` races it with `connectTimeoutMs` and
 *   destroys the socket on expiry.
 * - A request without an answer stays pending forever unless the client has a timeout, and when the socket closes
 *   pending requests are not failed. Every request here has its own timer, and the socket's `close` fails all pending
 *   requests at once, so a dead link is noticed at once, not after the timeout.
 * - After a socket error the port clears its open flag before `close`, so the client's own "close" event is not
 *   emitted; the wrapper listens on the socket itself (`_port._client`). The client re-emits port errors as "error"
 *   events, which would crash the process without a listener: one is attached.
 * - A closed client cannot be reopened reliably (the port drops its listeners on close), so a connection object is
 *   used once: after `destroy()` or a close, the owner opens a new one.
 * - A response that arrives after its request timed out is matched by transaction id (MBAP, Modbus Messaging on TCP/IP
 *   Implementation Guide V1.0b §3.1.3) to the old request and dropped; it never answers a newer one.
 * - The client keeps each transaction in `_transactions` until its id (0..255) is reused, so every connection holds
 *   its last 256 callbacks and whatever they reference: with thousands of devices, hundreds of MB of old-generation
 *   heap and long GC pauses. The wrapper clears its entry when the request settles.
 * Requests are written with the unit id as an argument (`writeFC3(unit, …)`), not `setID`, so one connection can
 * serve several units behind a gateway without a shared mutable unit id.
 */
import type { Socket } from 'node:net';
import modbusSerial from 'modbus-serial';
import type { Clock, TimerHandle } from '../../../core/clock.ts';
import { WarmgridError } from '../../../core/errors.ts';
import type { Area } from './planner.ts';

/** Modbus exception codes (Modbus Application Protocol V1.1b3 §7). */
export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export const READ_FUNCTION: Readonly<Record<Area, number>> = { coil: 1, discrete: 2, holding: 3, input: 4 };

export interface RequestInfo {
  fc: number;
  unitId: number;
  address: number;
  count: number;
}

/** Exception code of a MODBUS_EXCEPTION error, else undefined. */
export function exceptionCode(err: unknown): number | undefined {
  if (err instanceof WarmgridError && err.code === 'MODBUS_EXCEPTION') return (err.details as { exceptionCode?: number } | undefined)?.exceptionCode;
  return undefined;
}

/** Busy and acknowledge mean "ask again later" (§7, codes 05 and 06). */
export function isBusy(err: unknown): boolean {
  const c = exceptionCode(err);
  return c === 5 || c === 6;
}

/** Gateway exceptions mean the unit behind the gateway did not answer: as good as a timeout for that device. */
export function isGatewayFailure(err: unknown): boolean {
  const c = exceptionCode(err);
  return c === 10 || c === 11;
}

/** modbus-serial is CommonJS: its module object is the client class, also exported as `default`. */
const ModbusRTU = modbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

interface ClientInternals {
  _port?: { _client?: Socket; _transactionIdWrite?: number };
  _transactions?: Record<number, unknown>;
}

type Callback = (err: (Error & { modbusCode?: number }) | null, data?: { buffer?: Buffer }) => void;

interface Pending {
  settle(err: Error | null, bytes?: Uint8Array): void;
}

export class ModbusConnection {
  readonly host: string;
  readonly port: number;
  readonly #client: Client;
  readonly #clock: Clock;
  readonly #pending = new Set<Pending>();
  #open = true;
  #onClose: ((err: Error) => void) | null = null;

  private constructor(client: Client, host: string, port: number, clock: Clock) {
    this.#client = client;
    this.host = host;
    this.port = port;
    this.#clock = clock;
  }

  /** Opens a connection; rejects with SOURCE_ERROR (retryable) on refusal, error or timeout. */
  static open(host: string, port: number, connectTimeoutMs: number, clock: Clock): Promise<ModbusConnection> {
    const client = new ModbusRTU();
    // Port errors are re-emitted by the client as "error" events; without a listener they would be thrown.
    client.on('error', () => {});
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = clock.setTimeout(() => {
        if (done) return;
        done = true;
        client.destroy(() => {});
        reject(new WarmgridError('SOURCE_ERROR', `connect to ${host}:${port} timed out after ${connectTimeoutMs} ms`, { retryable: true }));
      }, connectTimeoutMs);
      client.connectTCP(host, { port }, (err?: Error | null) => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        if (err) {
          client.destroy(() => {});
          reject(new WarmgridError('SOURCE_ERROR', `connect to ${host}:${port} failed: ${err.message ?? String(err)}`, { cause: err, retryable: true }));
          return;
        }
        const conn = new ModbusConnection(client, host, port, clock);
        const sock = (client as unknown as ClientInternals)._port?._client;
        if (sock && typeof sock.once === 'function') {
          sock.setKeepAlive?.(true, 10_000);
          sock.once('close', () => conn.#lost(new WarmgridError('SOURCE_ERROR', `connection to ${host}:${port} closed`, { retryable: true })));
        } else {
          client.on('close', () => conn.#lost(new WarmgridError('SOURCE_ERROR', `connection to ${host}:${port} closed`, { retryable: true })));
        }
        resolve(conn);
      });
    });
  }

  get isOpen(): boolean {
    return this.#open && this.#client.isOpen;
  }

  /** Called once when the connection is lost (not after `destroy()`). */
  onClose(fn: (err: Error) => void): void {
    this.#onClose = fn;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** FC1/FC2/FC3/FC4: resolves with register bytes (2 per register, wire order) or packed bits (LSB first). */
  read(area: Area, unitId: number, address: number, count: number, timeoutMs: number): Promise<Uint8Array> {
    const fc = READ_FUNCTION[area];
    return this.#request({ fc, unitId, address, count }, timeoutMs, (cb) => {
      const c = this.#client;
      if (fc === 3) c.writeFC3(unitId, address, count, cb as never);
      else if (fc === 4) c.writeFC4(unitId, address, count, cb as never);
      else if (fc === 1) c.writeFC1(unitId, address, count, cb as never);
      else c.writeFC2(unitId, address, count, cb as never);
    });
  }

  /** FC6 Write Single Register. */
  writeRegister(unitId: number, address: number, value: number, timeoutMs: number): Promise<void> {
    return this.#request({ fc: 6, unitId, address, count: 1 }, timeoutMs, (cb) => this.#client.writeFC6(unitId, address, value, cb as never)).then(() => undefined);
  }

  /** FC16 Write Multiple Registers. */
  writeRegisters(unitId: number, address: number, values: number[], timeoutMs: number): Promise<void> {
    return this.#request({ fc: 16, unitId, address, count: values.length }, timeoutMs, (cb) => this.#client.writeFC16(unitId, address, values, cb as never)).then(() => undefined);
  }

  /** FC5 Write Single Coil. */
  writeCoil(unitId: number, address: number, value: boolean, timeoutMs: number): Promise<void> {
    return this.#request({ fc: 5, unitId, address, count: 1 }, timeoutMs, (cb) => this.#client.writeFC5(unitId, address, value, cb as never)).then(() => undefined);
  }

  /** Closes the socket at once and fails pending requests. Idempotent. */
  destroy(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#onClose = null;
    this.#failAll(new WarmgridError('SOURCE_ERROR', `connection to ${this.host}:${this.port} was closed by the hub`, { retryable: true }));
    try {
      this.#client.destroy(() => {});
    } catch {
      // already gone
    }
  }

  #lost(err: Error): void {
    if (!this.#open) return;
    this.#open = false;
    this.#failAll(err);
    const cb = this.#onClose;
    this.#onClose = null;
    try {
      this.#client.destroy(() => {});
    } catch {
      // already gone
    }
    cb?.(err);
  }

  #failAll(err: Error): void {
    for (const p of [...this.#pending]) p.settle(err);
  }

  #request(info: RequestInfo, timeoutMs: number, send: (cb: Callback) => void): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      if (!this.isOpen) {
        reject(new WarmgridError('SOURCE_ERROR', `connection to ${this.host}:${this.port} is not open`, { retryable: true, details: info }));
        return;
      }
      let timer: TimerHandle | null = null;
      // modbus-serial keeps every transaction (with its callback and all it holds) until its id comes round again,
      // 256 requests later: 256 per device. The entry is cleared when the request settles, so memory stays flat.
      const internals = this.#client as unknown as ClientInternals;
      const tid = internals._port?._transactionIdWrite;
      let tx: unknown;
      const pending: Pending = {
        settle: (err, bytes) => {
          if (!this.#pending.delete(pending)) return;
          if (timer) this.#clock.clearTimeout(timer);
          timer = null;
          const txs = internals._transactions;
          if (txs && tid !== undefined && tx !== undefined && txs[tid] === tx) txs[tid] = undefined;
          if (err) reject(err);
          else resolve(bytes ?? new Uint8Array(0));
        },
      };
      this.#pending.add(pending);
      timer = this.#clock.setTimeout(() => {
        timer = null;
        // Node runs timers before it reads sockets in each loop turn: after the process was held up, the answer may
        // already wait in the socket. setImmediate runs after this turn's I/O, so only a real silence times out.
        setImmediate(() =>
          pending.settle(
            new WarmgridError('MODBUS_TIMEOUT', `unit ${info.unitId} at ${this.host}:${this.port}: no response to FC${info.fc} ${info.address}+${info.count} within ${timeoutMs} ms`, {
              retryable: true,
              details: info,
            }),
          ),
        );
      }, timeoutMs);
      try {
        send((err, data) => {
          if (err) pending.settle(toError(err, info, this.host, this.port));
          else pending.settle(null, data?.buffer ?? new Uint8Array(0));
        });
        if (tid !== undefined) tx = internals._transactions?.[tid];
      } catch (err) {
        pending.settle(toError(err as Error, info, this.host, this.port));
      }
    });
  }
}

function toError(err: Error & { modbusCode?: number }, info: RequestInfo, host: string, port: number): Error {
  if (typeof err.modbusCode === 'number') {
    const code = err.modbusCode;
    const name = EXCEPTION_NAMES[code] ?? 'unknown exception';
    return new WarmgridError('MODBUS_EXCEPTION', `unit ${info.unitId} at ${host}:${port}: FC${info.fc} ${info.address}+${info.count}: exception ${code} (${name})`, {
      cause: err,
      retryable: code === 5 || code === 6,
      details: { ...info, exceptionCode: code },
    });
  }
  // Anything else (CRC or length mismatch, a write on a dead port) means the stream cannot be trusted: drop the link.
  return new WarmgridError('SOURCE_ERROR', `unit ${info.unitId} at ${host}:${port}: FC${info.fc} ${info.address}+${info.count}: ${err.message ?? String(err)}`, {
    cause: err,
    retryable: true,
    details: info,
  });
}
