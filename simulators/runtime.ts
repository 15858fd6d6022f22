/**
 * The simulator process in one call: the physical model of a network run against the wall clock, and the faces that
 * serve it (MQTT publisher, Modbus TCP gateway, OPC UA server, HTTP control API).
 *
 *   const sims = await startSimulators({ timeScale: 60, mqtt: { url: 'mqtt://127.0.0.1:1884', publishIntervalS: 60 },
 *                                        modbus: { port: 15020 }, http: { port: 8090 } });
 *   sims.inject({ kind: 'leak', target: 'ss03' });
 *   await sims.close();
 *
 * Time: simulated time = the model's time at start + wall time elapsed × `timeScale` (1 = real time, 60 = a simulated
 * minute per second, 0 = paused). Every `stepMs` of wall time the model is stepped up to that clock, so it never drifts
 * however late a timer fires; `stepNow(s)` moves the clock and the model ahead by s simulated seconds at once (tests).
 * The faces read the continuous clock, so MQTT publishing is spread evenly between model steps.
 *
 * Timestamps are simulated time. A hub rejects readings more than its `pipeline.maxFutureMs` (5 min) ahead of its own
 * clock, so a hub should only be fed with `timeScale` 1 and `start` at or before now, unless its window is widened.
 *
 * Shares no code with the hub except config/ (network schema, device templates).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { NetworkFile } from '../config/schema.ts';
import { buildControlApi } from './control-api.ts';
import { startModbusFace, type ModbusFace, type ModbusFaceOptions, type ModbusGatewayOptions } from './faces/modbus/index.ts';
import { FACE_FAULT_KINDS, startMqttFace, type ActiveFaceFault, type MqttFace, type MqttFaceFaultSpec, type MqttFaceOptions } from './faces/mqtt/index.ts';
import type { OpcuaFace, OpcuaFaceOptions } from './faces/opcua/index.ts';
import { createNetworkModel, loadNetworkFile, type FaultSpec, type NetworkModel, type NetworkModelOptions } from './model/index.ts';

export const DEFAULT_NETWORK_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../config/demo/network.yaml');
export const DEFAULT_STEP_MS = 500;
/** Most unit ids behind one Modbus gateway (MBAP unit ids 1..247). */
const UNITS_PER_GATEWAY = 247;

export interface SimulatorsOptions {
  /** A network.yaml path or a parsed network file (default config/demo/network.yaml). */
  network?: string | NetworkFile | Record<string, unknown>;
  /** Seed of every random choice in the model (default 1). */
  seed?: number;
  /** Simulated time at start, epoch ms (default: now). */
  start?: number;
  /** Simulated seconds per wall-clock second (default 1; 0 pauses the clock, only stepNow moves it). */
  timeScale?: number;
  /** Hours simulated before `start` so the plant begins near its operating state (default 48). */
  settleHours?: number;
  /** Wall-clock ms between model steps (default 500). */
  stepMs?: number;
  /** Further model options (weather, heat source, apartments, substations). */
  model?: Omit<NetworkModelOptions, 'seed' | 'start' | 'settleHours'>;
  /** Start the MQTT face (thermostats, weather stations). */
  mqtt?: Omit<MqttFaceOptions, 'clock' | 'log'>;
  /**
   * Start the Modbus TCP face. Without `gateways` or `units`: one gateway on `port` (default 15020) with unit ids
   * 1..N for the substations in network order (247 per gateway; more use the following ports).
   */
  modbus?: Partial<ModbusFaceOptions>;
  /**
   * Start the OPC UA face (loaded only when asked for: node-opcua is large). Port default 4841 (0 picks a free one),
   * `substations` default all, `pkiDir` default `<DATA_DIR or ./data>/simulator-pki` (its certificate is made there on
   * first run).
   */
  opcua?: Partial<OpcuaFaceOptions>;
  /** Start the HTTP control API (host default 127.0.0.1; port 0 picks a free one). Never expose it: it has no auth. */
  http?: { host?: string; port: number };
  /** Logger (default: pino at LOG_LEVEL or info). */
  log?: Logger;
}

export interface SimulatorFault {
  id: string;
  /** `model` faults change the physics or what a device reports; `mqtt` faults are the MQTT face's own. */
  layer: 'model' | 'mqtt';
  spec: FaultSpec | MqttFaceFaultSpec;
  /** Simulated time (model faults) or wall-clock time (face faults) of injection, epoch ms. */
  sinceMs: number;
  /** Face faults: messages sent so far, and in all. */
  sent?: number;
  total?: number;
}

export interface SimulatorsStats {
  steps: number;
  /** Wall-clock ms spent in model.step, in all and in the last step. */
  stepMsTotal: number;
  lastStepMs: number;
}

export interface Simulators {
  readonly model: NetworkModel;
  readonly mqtt: MqttFace | null;
  readonly modbus: ModbusFace | null;
  readonly opcua: OpcuaFace | null;
  /** The control API app (also when not listening: `app.inject`), and where it listens. */
  readonly control: FastifyInstance;
  readonly http: { host: string; port: number; url: string } | null;
  readonly log: Logger;
  /** Simulated time now, epoch ms (continuous between model steps). */
  now(): number;
  timeScale(): number;
  setTimeScale(scale: number): void;
  /**
   * Moves the clock and the model ahead by simSeconds, then waits until the MQTT face has published what is due and the
   * broker has acknowledged it; rejects after `flushTimeoutMs` (default 20 s, or 1 ms per apartment if more).
   */
  stepNow(simSeconds: number, opts?: { flushTimeoutMs?: number }): Promise<void>;
  /** Injects a model fault (FaultSpec) or a face fault (garbage_flood); throws ModelError, MqttFaceError or SimulatorError. */
  inject(spec: FaultSpec | MqttFaceFaultSpec): string;
  clear(id: string): boolean;
  clearAll(): void;
  faults(): SimulatorFault[];
  stats(): SimulatorsStats;
  close(): Promise<void>;
}

export type SimulatorErrorCode = 'PORT_IN_USE' | 'FACE_NOT_RUNNING' | 'BAD_OPTION';

export class SimulatorError extends Error {
  readonly code: SimulatorErrorCode;
  /** PORT_IN_USE: which face and where. */
  readonly face?: 'modbus' | 'http';
  readonly port?: number;
  readonly host?: string;
  constructor(code: SimulatorErrorCode, message: string, where?: { face: 'modbus' | 'http'; port: number; host: string }, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SimulatorError';
    this.code = code;
    if (where) {
      this.face = where.face;
      this.port = where.port;
      this.host = where.host;
    }
  }
}

const MAX_TIME_SCALE = 100_000;

export function checkTimeScale(scale: number): void {
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0 || scale > MAX_TIME_SCALE) {
    throw new SimulatorError('BAD_OPTION', `time scale must be a number within 0..${MAX_TIME_SCALE} (1 = real time, 0 = paused), got ${String(scale)}`);
  }
}

/** One gateway per 247 substations, unit ids 1..247 on each, ports from `port` up (port 0: each picks a free one). */
export function defaultGateways(substations: readonly string[], port: number): ModbusGatewayOptions[] {
  const out: ModbusGatewayOptions[] = [];
  for (let g = 0; g * UNITS_PER_GATEWAY < substations.length; g++) {
    const units: Record<number, string> = {};
    substations.slice(g * UNITS_PER_GATEWAY, (g + 1) * UNITS_PER_GATEWAY).forEach((id, k) => (units[k + 1] = id));
    out.push({ port: port === 0 ? 0 : port + g, units });
  }
  return out;
}

function isAddrInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE';
}

export async function startSimulators(opts: SimulatorsOptions = {}): Promise<Simulators> {
  const log = opts.log ?? pino({ level: process.env['LOG_LEVEL'] ?? 'info' });
  let scale = opts.timeScale ?? 1;
  checkTimeScale(scale);
  const stepMs = opts.stepMs ?? DEFAULT_STEP_MS;
  if (!(stepMs >= 10)) throw new SimulatorError('BAD_OPTION', `stepMs must be at least 10, got ${stepMs}`);
  const network = typeof opts.network === 'string' || opts.network === undefined ? loadNetworkFile(opts.network ?? DEFAULT_NETWORK_FILE) : opts.network;

  const t0 = performance.now();
  const model = createNetworkModel(network, {
    ...opts.model,
    seed: opts.seed ?? 1,
    start: opts.start ?? Date.now(),
    ...(opts.settleHours !== undefined ? { settleHours: opts.settleHours } : {}),
  });
  log.info({ apartments: model.apartments.count, substations: model.substationIds().length, buildMs: Math.round(performance.now() - t0) }, 'simulation model built');

  // The clock: anchored at (wall, sim) and re-anchored whenever the scale changes or stepNow jumps.
  let anchorWall = performance.now();
  let anchorSim = model.now();
  const now = (): number => anchorSim + (performance.now() - anchorWall) * scale;
  const stats: SimulatorsStats = { steps: 0, stepMsTotal: 0, lastStepMs: 0 };

  const stepToClock = (): void => {
    const dtS = (now() - model.now()) / 1000;
    if (!(dtS > 1e-3)) return;
    const s0 = performance.now();
    try {
      model.step(dtS);
    } catch (err) {
      log.error({ err, dtS }, 'model step failed');
    }
    stats.lastStepMs = performance.now() - s0;
    stats.stepMsTotal += stats.lastStepMs;
    stats.steps++;
  };
  const stepper = setInterval(stepToClock, stepMs);

  let mqttFace: MqttFace | null = null;
  let modbusFace: ModbusFace | null = null;
  let opcuaFace: OpcuaFace | null = null;
  let control: FastifyInstance | null = null;
  let http: Simulators['http'] = null;
  let closing: Promise<void> | null = null;

  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(stepper);
      const results = await Promise.allSettled([control?.close(), mqttFace?.close(), modbusFace?.close(), opcuaFace?.close()]);
      for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason as unknown }, 'a simulator face did not close cleanly');
    })();
    return closing;
  };

  const faults = (): SimulatorFault[] => [
    ...model.faults().map((f): SimulatorFault => ({ id: f.id, layer: 'model', spec: f.spec, sinceMs: f.sinceMs })),
    ...(mqttFace?.faults() ?? []).map((f: ActiveFaceFault): SimulatorFault => ({ id: f.id, layer: 'mqtt', spec: f.spec, sinceMs: f.sinceMs, sent: f.sent, total: f.total })),
  ];

  const sims: Simulators = {
    model,
    get mqtt() {
      return mqttFace;
    },
    get modbus() {
      return modbusFace;
    },
    get opcua() {
      return opcuaFace;
    },
    get control() {
      return control!;
    },
    get http() {
      return http;
    },
    log,
    now,
    timeScale: () => scale,
    setTimeScale(s) {
      checkTimeScale(s);
      anchorSim = now();
      anchorWall = performance.now();
      scale = s;
      log.info({ timeScale: s }, 'time scale changed');
    },
    async stepNow(simSeconds, stepOpts) {
      if (typeof simSeconds !== 'number' || !(simSeconds >= 0) || !Number.isFinite(simSeconds)) throw new SimulatorError('BAD_OPTION', `stepNow needs a number of simulated seconds ≥ 0, got ${String(simSeconds)}`);
      anchorSim += simSeconds * 1000;
      stepToClock();
      // A whole interval of a large network may be due at once: allow about 1 ms per apartment.
      await mqttFace?.flush(stepOpts?.flushTimeoutMs ?? Math.max(20_000, model.apartments.count));
    },
    inject(spec) {
      if ((FACE_FAULT_KINDS as readonly string[]).includes(spec.kind)) {
        if (!mqttFace) throw new SimulatorError('FACE_NOT_RUNNING', `${spec.kind} is a fault of the MQTT face, which is not running (start it with an MQTT broker URL)`);
        return mqttFace.inject(spec as MqttFaceFaultSpec);
      }
      const id = model.inject(spec as FaultSpec);
      log.info({ id, spec }, 'fault injected');
      return id;
    },
    clear(id) {
      const ok = model.clear(id) || (mqttFace?.clear(id) ?? false);
      if (ok) log.info({ id }, 'fault cleared');
      return ok;
    },
    clearAll() {
      model.clearAll();
      mqttFace?.clearAll();
      log.info('all faults cleared');
    },
    faults,
    stats: () => ({ ...stats }),
    close,
  };

  try {
    control = buildControlApi(sims);
    if (opts.modbus) {
      const m = opts.modbus;
      const gateways = m.gateways ?? (m.units ? undefined : defaultGateways(model.substationIds(), m.port ?? 15020));
      const host = m.host ?? '127.0.0.1';
      try {
        modbusFace = await startModbusFace(model, { ...m, ...(gateways ? { gateways, port: undefined } : {}) } as ModbusFaceOptions);
      } catch (err) {
        if (isAddrInUse(err)) {
          const port = gateways?.[0]?.port ?? m.port ?? 15020;
          throw new SimulatorError('PORT_IN_USE', `port ${port} on ${host} is already in use, so the Modbus face cannot start`, { face: 'modbus', port, host }, err);
        }
        throw err;
      }
      log.info({ ports: modbusFace.ports, units: model.substationIds().length }, 'Modbus face listening');
    }
    if (opts.opcua) {
      const o = opts.opcua;
      const port = o.port ?? 4841;
      const host = o.host ?? '127.0.0.1';
      const { startOpcuaFace } = await import('./faces/opcua/index.ts');
      try {
        opcuaFace = await startOpcuaFace(model, { log: log.child({ face: 'opcua' }), ...o, port, host, pkiDir: o.pkiDir ?? path.resolve(process.env['DATA_DIR'] ?? 'data', 'simulator-pki') });
      } catch (err) {
        if (isAddrInUse(err) || /EADDRINUSE/.test(String((err as Error | null)?.message))) {
          throw new SimulatorError('PORT_IN_USE', `port ${port} on ${host} is already in use, so the OPC UA face cannot start (SIM_OPCUA_PORT chooses another)`, undefined, err);
        }
        throw err;
      }
      log.info({ endpointUrl: opcuaFace.endpointUrl, substations: opcuaFace.substations.length }, 'OPC UA face listening');
    }
    if (opts.mqtt) {
      mqttFace = await startMqttFace(model, { ...opts.mqtt, clock: now, log: log.child({ face: 'mqtt' }) });
    }
    if (opts.http) {
      const host = opts.http.host ?? '127.0.0.1';
      try {
        await control.listen({ host, port: opts.http.port });
      } catch (err) {
        if (isAddrInUse(err)) throw new SimulatorError('PORT_IN_USE', `port ${opts.http.port} on ${host} is already in use, so the control API cannot start`, { face: 'http', port: opts.http.port, host }, err);
        throw err;
      }
      const port = (control.server.address() as { port: number }).port;
      http = { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
      log.info({ url: http.url }, 'simulator control API listening (no auth: keep it on localhost)');
    }
  } catch (err) {
    await close();
    throw err;
  }
  return sims;
}
