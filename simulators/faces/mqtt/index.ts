/**
 * The MQTT face of the simulator: every apartment's room thermostat and every weather station of the physical model,
 * publishing JSON telemetry to a broker on the topic scheme of docs/mqtt.md.
 *
 *   const face = await startMqttFace(model, { url: 'mqtt://127.0.0.1:1884', publishIntervalS: 60 });
 *   face.stats();  await face.close();
 *
 * Contract:
 * - Each thermostat publishes once per `publishIntervalS` of simulated time, the network's thermostats spread evenly
 *   over the interval (SpreadSchedule), never in bursts. Each weather station publishes its readings and an hourly
 *   forecast (`forecastHours`, default 48) once per `weatherIntervalS` (default 60 s simulated), the first at start.
 *   The clock is `opts.clock` (the runtime's continuous simulated clock), checked every `tickMs` of wall time.
 * - A sample carries the model's state and the model's time (`model.now()`, epoch ms) at the moment it is taken;
 *   values are rounded to the device's resolution and NaN is sent as `null` (payloads.ts).
 * - QoS 1 by default. At most `maxInFlight` messages are unacknowledged (QoS 1) or unwritten (QoS 0) at once; beyond
 *   that the face waits, so a slow broker slows the publisher instead of growing its memory. A publisher that falls a
 *   whole interval behind drops the samples it missed (counted as `skipped`) and carries on with current values. While
 *   the broker is unreachable nothing is queued: devices drop their samples (counted as `skipped`) and the client
 *   reconnects every second.
 * - Model faults: `comm_loss` on an apartment (or anything above it) or a weather station → it publishes nothing
 *   (`suppressed`); `slow_device` → its message leaves `delayMs` late, stamped with the time it was taken.
 * - Face faults (`inject`): `garbage_flood` sends `ratePerS` bad messages a second, wall-clock, for `durationS`
 *   seconds, round-robin over `kinds` (default all; see garbage.ts). It ends by itself after its last message.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { ApartmentTable, DeviceFlags, ForecastPoint, WeatherStationTags } from '../../model/index.ts';
import { DEFAULT_OVERSIZE_BYTES, GARBAGE_KINDS, garbageMessage, GarbageRng, type GarbageKind } from './garbage.ts';
import { apartmentTopics, thermostatPayload, weatherPayload, weatherTopic, type TopicNetwork } from './payloads.ts';
import { SpreadSchedule } from './schedule.ts';

export { GARBAGE_KINDS, type GarbageKind } from './garbage.ts';

/** What the face needs from the model (NetworkModel satisfies it). */
export interface MqttFaceModel {
  readonly network: TopicNetwork;
  readonly apartments: ApartmentTable;
  now(): number;
  weatherStationIds(): readonly string[];
  weatherStationTags(id: string): WeatherStationTags;
  forecast(hours?: number): ForecastPoint[];
  flags(id: string): DeviceFlags;
}

export interface MqttFaceOptions {
  /** Broker URL: mqtt://host:port, mqtts://, ws://, wss://. */
  url: string;
  /** Thermostat reporting interval, simulated seconds (default 60). */
  publishIntervalS?: number;
  /** Weather station reporting interval, simulated seconds (default 60). */
  weatherIntervalS?: number;
  /** Publish QoS (default 1). */
  qos?: 0 | 1;
  /** Messages unacknowledged (QoS 1) or unwritten (QoS 0) at once (default 1000). */
  maxInFlight?: number;
  clientId?: string;
  username?: string;
  password?: string;
  /** MQTT protocol version: 4 (3.1.1, default; every broker) or 5. */
  protocolVersion?: 4 | 5;
  /** First topic level (default `warmgrid`). */
  topicPrefix?: string;
  /** Hours of hourly forecast in each weather message (default 48). */
  forecastHours?: number;
  /** How often the schedule is checked, wall-clock ms (default 20). */
  tickMs?: number;
  /** Simulated time now, epoch ms (default: model.now()). */
  clock?: () => number;
  /** How long start waits for the first connection before going on and retrying in the background (default 5000). */
  connectTimeoutMs?: number;
  /** Seed of the garbage generator (default 1). */
  seed?: number;
  log?: Logger;
}

export interface GarbageFloodSpec {
  kind: 'garbage_flood';
  /** Messages per wall-clock second, 1..10000. */
  ratePerS: number;
  /** Wall-clock seconds, up to 3600. */
  durationS: number;
  /** Kinds to cycle through (default all six). */
  kinds?: GarbageKind[];
  /** Size of `oversize` messages in bytes (default 70,000; the hub's default limit is 65,536). */
  oversizeBytes?: number;
}

export type MqttFaceFaultSpec = GarbageFloodSpec;

export interface ActiveFaceFault {
  id: string;
  spec: MqttFaceFaultSpec;
  /** Wall-clock start, epoch ms. */
  sinceMs: number;
  sent: number;
  total: number;
}

export interface MqttFaceStats {
  url: string;
  connected: boolean;
  connects: number;
  /** Thermostat and weather messages handed to the client. */
  apartmentMessages: number;
  weatherMessages: number;
  /** Garbage messages sent, by kind. */
  garbage: Record<GarbageKind, number>;
  /** Publishes acknowledged (QoS 1) or written (QoS 0), and failed. */
  acked: number;
  errors: number;
  inFlight: number;
  maxInFlight: number;
  /** The most in flight at any time since start. */
  peakInFlight: number;
  /** Samples not sent because of comm_loss. */
  suppressed: number;
  /** Messages sent late because of slow_device. */
  delayed: number;
  /** Samples dropped while the broker was unreachable or the publisher was a whole interval behind. */
  skipped: number;
  /** Slots due but not yet taken (back-pressure). */
  backlog: number;
}

export interface MqttFace {
  readonly url: string;
  /** Topic of each apartment, in apartment-table order. */
  readonly apartmentTopics: readonly string[];
  connected(): boolean;
  stats(): MqttFaceStats;
  /** Publishes what is due now (as the timer does). */
  tick(): void;
  /** Publishes everything due by the clock now and resolves once nothing is in flight; rejects after timeoutMs. */
  flush(timeoutMs?: number): Promise<void>;
  inject(spec: MqttFaceFaultSpec): string;
  clear(id: string): boolean;
  clearAll(): void;
  faults(): ActiveFaceFault[];
  close(): Promise<void>;
}

export type MqttFaceErrorCode = 'BAD_FAULT';

export class MqttFaceError extends Error {
  readonly code: MqttFaceErrorCode;
  constructor(code: MqttFaceErrorCode, message: string) {
    super(message);
    this.name = 'MqttFaceError';
    this.code = code;
  }
}

export const FACE_FAULT_KINDS = ['garbage_flood'] as const;

interface Flood {
  id: string;
  spec: GarbageFloodSpec;
  kinds: readonly GarbageKind[];
  oversizeBytes: number;
  startWall: number;
  total: number;
  sent: number;
}

/** Checks a garbage_flood spec and fills its defaults; throws MqttFaceError BAD_FAULT. */
export function checkFloodSpec(spec: GarbageFloodSpec): { kinds: readonly GarbageKind[]; oversizeBytes: number; total: number } {
  const bad = (msg: string): never => {
    throw new MqttFaceError('BAD_FAULT', `garbage_flood: ${msg}`);
  };
  if (typeof spec.ratePerS !== 'number' || !(spec.ratePerS >= 1 && spec.ratePerS <= 10_000)) bad('ratePerS must be a number within 1..10000');
  if (typeof spec.durationS !== 'number' || !(spec.durationS > 0 && spec.durationS <= 3600)) bad('durationS must be a number within (0, 3600]');
  const kinds = spec.kinds ?? GARBAGE_KINDS;
  if (!Array.isArray(kinds) || kinds.length === 0) bad(`kinds must be a non-empty list of ${GARBAGE_KINDS.join(', ')}`);
  for (const k of kinds) if (!(GARBAGE_KINDS as readonly string[]).includes(k)) bad(`unknown kind "${String(k)}" (known: ${GARBAGE_KINDS.join(', ')})`);
  const oversizeBytes = spec.oversizeBytes ?? DEFAULT_OVERSIZE_BYTES;
  if (typeof oversizeBytes !== 'number' || !(oversizeBytes >= 1024 && oversizeBytes <= 4 * 1024 * 1024)) bad('oversizeBytes must be within 1024..4194304');
  return { kinds, oversizeBytes, total: Math.max(1, Math.round(spec.ratePerS * spec.durationS)) };
}

export async function startMqttFace(model: MqttFaceModel, opts: MqttFaceOptions): Promise<MqttFace> {
  const intervalS = opts.publishIntervalS ?? 60;
  const weatherS = opts.weatherIntervalS ?? 60;
  if (!(intervalS > 0) || !(weatherS > 0)) throw new Error(`MQTT face: publish intervals must be positive (got ${intervalS} s and ${weatherS} s)`);
  const qos = opts.qos ?? 1;
  const maxInFlight = opts.maxInFlight ?? 1000;
  if (!(maxInFlight >= 1)) throw new Error(`MQTT face: maxInFlight must be at least 1 (got ${maxInFlight})`);
  const prefix = opts.topicPrefix ?? 'warmgrid';
  const forecastHours = opts.forecastHours ?? 48;
  const clock = opts.clock ?? (() => model.now());
  const log = opts.log;
  const a = model.apartments;
  const topics = apartmentTopics(model.network, a, prefix);
  const stations = [...model.weatherStationIds()];
  const stationTopics = stations.map((s) => weatherTopic(prefix, s));
  const t0 = clock();
  const aptSchedule = new SpreadSchedule(a.count, intervalS * 1000, t0, 1);
  const wsSchedule = new SpreadSchedule(stations.length, weatherS * 1000, t0);
  const rng = new GarbageRng(opts.seed ?? 1);

  const stats = {
    connects: 0,
    apartmentMessages: 0,
    weatherMessages: 0,
    acked: 0,
    errors: 0,
    peakInFlight: 0,
    suppressed: 0,
    delayed: 0,
    skipped: 0,
  };
  const garbageSent = Object.fromEntries(GARBAGE_KINDS.map((k) => [k, 0])) as Record<GarbageKind, number>;
  let inFlight = 0;
  let closed = false;
  let faultSeq = 0;
  const floods = new Map<string, Flood>();
  const timers = new Set<NodeJS.Timeout>();
  let waiters: (() => void)[] = [];
  let lastErrorLog = 0;

  const clientOpts: IClientOptions = {
    protocolVersion: opts.protocolVersion ?? 4,
    clientId: opts.clientId ?? `warmgrid-sim-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 1000,
    connectTimeout: opts.connectTimeoutMs ?? 5000,
    queueQoSZero: false,
  };
  if (opts.username !== undefined) clientOpts.username = opts.username;
  if (opts.password !== undefined) clientOpts.password = opts.password;
  const client: MqttClient = mqtt.connect(opts.url, clientOpts);
  client.on('connect', () => {
    stats.connects++;
    log?.info({ url: opts.url, connects: stats.connects }, 'MQTT face connected');
  });
  client.on('offline', () => {
    if (!closed && stats.connects > 0) log?.warn({ url: opts.url }, 'MQTT face lost the broker; samples are dropped until it is back');
  });
  client.on('error', (err) => {
    // Connection refusals repeat every second while the broker is down: log the first and then once a minute.
    const now = Date.now();
    if (now - lastErrorLog > 60_000) {
      lastErrorLog = now;
      log?.warn({ err, url: opts.url }, 'MQTT face: broker connection failed; retrying every second');
    }
  });

  const wake = (): void => {
    if (waiters.length === 0) return;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const done = (err?: Error | null): void => {
    inFlight--;
    if (err) {
      stats.errors++;
      if (!closed && stats.errors % 1000 === 1) log?.warn({ err, errors: stats.errors }, 'MQTT face: publish failed');
    } else stats.acked++;
    wake();
  };

  const publishNow = (topic: string, payload: string | Buffer): void => {
    if (closed) {
      done(new Error('closed'));
      return;
    }
    client.publish(topic, payload, { qos }, (err) => done(err));
  };

  /** Hands one message to the client, now or after delayMs; counted in flight from here until acknowledged. */
  const send = (topic: string, payload: string | Buffer, delayMs: number): void => {
    inFlight++;
    if (inFlight > stats.peakInFlight) stats.peakInFlight = inFlight;
    if (delayMs > 0) {
      stats.delayed++;
      const t = setTimeout(() => {
        timers.delete(t);
        publishNow(topic, payload);
      }, delayMs);
      timers.add(t);
    } else publishNow(topic, payload);
  };

  const floodTarget = (f: Flood, wall: number): number => Math.min(f.total, Math.floor(((wall - f.startWall) / 1000) * f.spec.ratePerS) + 1);

  const tick = (): void => {
    if (closed) return;
    const now = clock();
    if (!client.connected) {
      stats.skipped += aptSchedule.skipTo(now, 0) + wsSchedule.skipTo(now, 0);
      return;
    }
    const modelNow = model.now();

    const wsEnd = wsSchedule.dueEnd(now);
    if (wsEnd - wsSchedule.next > stations.length) stats.skipped += wsSchedule.skipTo(now, stations.length);
    if (wsSchedule.next < wsEnd) {
      let forecast: ForecastPoint[] | null = null;
      while (wsSchedule.next < wsEnd && inFlight < maxInFlight) {
        const j = wsSchedule.itemOf(wsSchedule.next++);
        const flags = model.flags(stations[j]!);
        if (flags.comm_loss) {
          stats.suppressed++;
          continue;
        }
        forecast ??= model.forecast(forecastHours);
        stats.weatherMessages++;
        send(stationTopics[j]!, weatherPayload(model.weatherStationTags(stations[j]!), forecast, modelNow), flags.slow_ms);
      }
    }

    const end = aptSchedule.dueEnd(now);
    if (end - aptSchedule.next > a.count) stats.skipped += aptSchedule.skipTo(now, a.count);
    while (aptSchedule.next < end && inFlight < maxInFlight) {
      const i = aptSchedule.itemOf(aptSchedule.next++);
      if (a.comm_loss[i] === 1) {
        stats.suppressed++;
        continue;
      }
      stats.apartmentMessages++;
      send(topics[i]!, thermostatPayload(a, i, modelNow), a.slow_ms[i]!);
    }

    if (floods.size > 0) {
      const wall = Date.now();
      for (const f of floods.values()) {
        const target = floodTarget(f, wall);
        while (f.sent < target && inFlight < maxInFlight) {
          const kind = f.kinds[f.sent % f.kinds.length]!;
          const m = garbageMessage(kind, { topics, nowMs: modelNow, wallMs: wall, oversizeBytes: f.oversizeBytes }, rng);
          f.sent++;
          garbageSent[kind]++;
          send(m.topic, m.payload, 0);
        }
        if (f.sent >= f.total) {
          floods.delete(f.id);
          log?.info({ id: f.id, sent: f.sent }, 'garbage flood finished');
        }
      }
    }
  };

  const backlog = (): number => {
    const now = clock();
    return aptSchedule.backlog(now) + wsSchedule.backlog(now);
  };

  const ticker = setInterval(tick, opts.tickMs ?? 20);

  await new Promise<void>((resolve) => {
    if (client.connected) return resolve();
    const t = setTimeout(() => {
      client.off('connect', onConnect);
      log?.warn({ url: opts.url }, `MQTT face: no broker at ${opts.url} yet; publishing starts when it answers`);
      resolve();
    }, opts.connectTimeoutMs ?? 5000);
    const onConnect = (): void => {
      clearTimeout(t);
      resolve();
    };
    client.once('connect', onConnect);
  });

  return {
    url: opts.url,
    apartmentTopics: topics,
    connected: () => client.connected,
    tick,
    stats: () => ({
      url: opts.url,
      connected: client.connected,
      ...stats,
      garbage: { ...garbageSent },
      inFlight,
      maxInFlight,
      backlog: backlog(),
    }),
    async flush(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        tick();
        const floodsPending = [...floods.values()].some((f) => f.sent < floodTarget(f, Date.now()));
        if (inFlight === 0 && (backlog() === 0 || !client.connected) && !floodsPending) return;
        if (closed) return;
        if (Date.now() > deadline) throw new Error(`MQTT face: flush timed out after ${timeoutMs} ms with ${inFlight} in flight and ${backlog()} due`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 20);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    inject(spec) {
      if (spec?.kind !== 'garbage_flood') throw new MqttFaceError('BAD_FAULT', `unknown face fault kind "${String((spec as { kind?: unknown } | undefined)?.kind)}" (known: ${FACE_FAULT_KINDS.join(', ')})`);
      const checked = checkFloodSpec(spec);
      const id = `M${String(++faultSeq).padStart(4, '0')}`;
      floods.set(id, { id, spec: { ...spec }, ...checked, startWall: Date.now(), sent: 0 });
      log?.info({ id, spec }, 'garbage flood started');
      return id;
    },
    clear(id) {
      return floods.delete(id);
    },
    clearAll() {
      floods.clear();
    },
    faults() {
      return [...floods.values()].map((f) => ({ id: f.id, spec: f.spec, sinceMs: f.startWall, sent: f.sent, total: f.total }));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      for (const t of timers) clearTimeout(t);
      inFlight -= timers.size;
      timers.clear();
      floods.clear();
      await client.endAsync(true);
      wake();
    },
  };
}
