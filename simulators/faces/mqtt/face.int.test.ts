/**
 * The MQTT face against a real broker (aedes, in-process on port 0) and a plain mqtt.js subscriber: no hub code.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators, type SimulatorsOptions } from '../../runtime.ts';
import { GARBAGE_KINDS, type GarbageKind } from './index.ts';

const silent = pino({ level: 'silent' });

/** 2 substations, 40 apartments, one weather station. */
function network(): Record<string, unknown> {
  return {
    company: { id: 'co', name: 'Co' },
    climate: { city: 'Jinan', designOutdoorC: -5.3 },
    heatSources: [
      {
        id: 'hs1',
        name: 'Plant',
        networks: [
          {
            id: 'n1',
            name: 'Net',
            substations: [
              { id: 'ss1', name: 'S1', buildings: [{ id: 'ss1-b1', name: 'B1', floors: 5, unitsPerFloor: 4, suspended: ['0302'] }] },
              { id: 'ss2', name: 'S2', buildings: [{ id: 'ss2-b1', name: 'B1', floors: 4, unitsPerFloor: 5 }] },
            ],
          },
        ],
      },
    ],
    weatherStations: [{ id: 'ws1', name: 'Station' }],
  };
}

interface Msg {
  topic: string;
  payload: Buffer;
  at: number;
}

let aedes: Aedes;
let server: net.Server;
let url: string;
let sub: MqttClient;
let msgs: Msg[] = [];
/** Delay before the broker takes a publish from the simulator (and so before its PUBACK), ms. */
let publishDelayMs = 0;
const running: Simulators[] = [];
/** Each test's simulator publishes under its own first topic level, so late messages of an earlier test do not count. */
let prefix = '';
let runs = 0;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function sims(opts: Omit<SimulatorsOptions, 'mqtt'> & { mqtt?: Partial<NonNullable<SimulatorsOptions['mqtt']>> } = {}): Promise<Simulators> {
  prefix = `run${++runs}`;
  const s = await startSimulators({
    network: network(),
    settleHours: 1,
    timeScale: 0,
    log: silent,
    ...opts,
    mqtt: { url, publishIntervalS: 60, clientId: `sim-${runs}`, topicPrefix: prefix, ...opts.mqtt },
  });
  running.push(s);
  return s;
}

const apartmentMsgs = (): Msg[] => msgs.filter((m) => !m.topic.includes('/weather/'));
const apartmentOf = (topic: string): string => {
  const p = topic.split('/');
  return `${p[2]}-${p[3]}`;
};

beforeAll(async () => {
  aedes = await Aedes.createBroker();
  aedes.authorizePublish = (client, _packet, cb) => {
    if (publishDelayMs > 0 && client?.id.startsWith('sim-')) setTimeout(() => cb(null), publishDelayMs);
    else cb(null);
  };
  server = net.createServer((s) => aedes.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  sub = await mqtt.connectAsync(url, { clientId: 'watcher', reconnectPeriod: 0 });
  sub.on('message', (topic, payload) => {
    if (topic.startsWith(`${prefix}/`)) msgs.push({ topic, payload, at: Date.now() });
  });
  await sub.subscribeAsync('#', { qos: 1 });
});

afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  publishDelayMs = 0;
  msgs = [];
});

afterAll(async () => {
  await sub?.endAsync();
  await new Promise<void>((r) => aedes.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
});

describe('MQTT face', () => {
  it('publishes every apartment once per interval, spread evenly over it', async () => {
    // 10 simulated seconds per second and a 10 s interval: each of the 40 flats once a wall second, 40 messages/s.
    const s = await sims({ timeScale: 10, stepMs: 100, mqtt: { publishIntervalS: 10, weatherIntervalS: 10 } });
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 2300));
    const apts = apartmentMsgs().filter((m) => m.at - t0 <= 2000);

    const byApt = new Map<string, number[]>();
    for (const m of apts) {
      const id = apartmentOf(m.topic);
      const doc = JSON.parse(m.payload.toString()) as { ts: number };
      byApt.set(id, [...(byApt.get(id) ?? []), doc.ts]);
    }
    expect(byApt.size).toBe(40);
    for (const [id, ts] of byApt) {
      expect(ts.length, id).toBeGreaterThanOrEqual(1);
      expect(ts.length, id).toBeLessThanOrEqual(3);
      // Consecutive samples one interval (10 s simulated) apart, within a model step (1 s simulated) and timer jitter
      // on a busy machine (0.3 s wall).
      for (let k = 1; k < ts.length; k++) expect(Math.abs(ts[k]! - ts[k - 1]! - 10_000), id).toBeLessThan(4000);
    }
    // Evenly spread: 40 messages per second, about 10 in every quarter second (never a burst of the whole network).
    const buckets = new Array<number>(8).fill(0);
    for (const m of apts) buckets[Math.min(7, Math.floor((m.at - t0) / 250))]!++;
    for (const n of buckets.slice(1, 7)) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(25);
    }
    // Weather at start and then every 10 s simulated, with a forecast.
    const weather = msgs.filter((m) => m.topic === `${prefix}/weather/ws1/telemetry`);
    expect(weather.length).toBeGreaterThanOrEqual(2);
    const w = JSON.parse(weather[0]!.payload.toString()) as Record<string, unknown>;
    expect(Object.keys(w)).toEqual(['ts', 'outdoor_temp_c', 'humidity_pct', 'wind_ms', 'solar_wm2', 'forecast']);
    expect((w['forecast'] as unknown[]).length).toBe(48);
    expect(s.mqtt!.stats()).toMatchObject({ errors: 0 });
  });

  it('sends the model values rounded to the device resolution, with the model time', async () => {
    const s = await sims();
    await s.stepNow(60);
    await waitFor('40 apartments', () => apartmentMsgs().length === 40);
    const a = s.model.apartments;
    for (const m of apartmentMsgs()) {
      const id = apartmentOf(m.topic);
      const i = s.model.apartmentIndex(id);
      const doc = JSON.parse(m.payload.toString()) as Record<string, number>;
      expect(doc['ts']).toBe(Math.round(s.model.now()));
      expect(doc['room_temp_c']).toBe(Math.round(a.room_temp_c[i]! * 10) / 10);
      expect(doc['valve_pct']).toBe(Math.round(a.valve_pct[i]!));
      expect(doc['battery_pct']).toBe(Math.round(a.battery_pct[i]!));
      expect(doc['rssi_dbm']).toBe(Math.round(a.rssi_dbm[i]!));
      if (Number.isNaN(a.setpoint_c[i]!)) expect('setpoint_c' in doc).toBe(false);
      else expect(doc['setpoint_c']).toBe(Math.round(a.setpoint_c[i]! * 10) / 10);
    }
  });

  it('honours comm_loss, slow_device and a dead sensor', async () => {
    const s = await sims();
    await s.stepNow(60);
    await waitFor('first round', () => apartmentMsgs().length === 40);
    msgs = [];

    const lost = s.inject({ kind: 'comm_loss', target: 'ss2-b1-0203' });
    const lostWeather = s.inject({ kind: 'comm_loss', target: 'ws1' });
    s.inject({ kind: 'comm_loss', target: 'ss1' }); // a whole substation's thermostats
    s.inject({ kind: 'slow_device', target: 'ss2-b1-0101', delayMs: 400 });
    s.inject({ kind: 'sensor_dead', target: 'ss2-b1-0102', tag: 'room_temp_c' });
    await s.stepNow(60);
    await waitFor('second round', () => apartmentMsgs().length === 19);
    const ids = apartmentMsgs().map((m) => apartmentOf(m.topic));
    expect(ids).not.toContain('ss2-b1-0203');
    expect(ids.some((id) => id.startsWith('ss1-'))).toBe(false);
    expect(msgs.some((m) => m.topic.includes('/weather/'))).toBe(false);
    const slow = apartmentMsgs().find((m) => apartmentOf(m.topic) === 'ss2-b1-0101')!;
    const others = apartmentMsgs().filter((m) => m !== slow);
    expect(slow.at - Math.max(...others.map((m) => m.at))).toBeGreaterThanOrEqual(300);
    const dead = JSON.parse(apartmentMsgs().find((m) => apartmentOf(m.topic) === 'ss2-b1-0102')!.payload.toString()) as Record<string, unknown>;
    expect(dead['room_temp_c']).toBeNull();
    expect(s.mqtt!.stats()).toMatchObject({ suppressed: 22, delayed: 1 });

    msgs = [];
    s.clear(lost);
    s.clear(lostWeather);
    await s.stepNow(60);
    await waitFor('third round', () => apartmentMsgs().length === 20);
    expect(apartmentMsgs().map((m) => apartmentOf(m.topic))).toContain('ss2-b1-0203');
    await waitFor('weather back', () => msgs.some((m) => m.topic.includes('/weather/')));
  });

  it('floods garbage of the kinds it claims, as many as asked', async () => {
    const s = await sims();
    const id = s.inject({ kind: 'garbage_flood', ratePerS: 600, durationS: 0.2 });
    expect(s.faults().map((f) => f.id)).toEqual([id]);
    await waitFor('flood over', () => s.faults().length === 0);
    await s.mqtt!.flush();
    msgs = msgs.filter((m) => !m.topic.includes('/weather/'));
    await waitFor('120 messages', () => apartmentMsgs().length === 120);
    msgs = apartmentMsgs();

    // Classified independently of the generator, the way a receiver would see them.
    const known = new Set(s.mqtt!.apartmentTopics);
    const seen = Object.fromEntries(GARBAGE_KINDS.map((k) => [k, 0])) as Record<GarbageKind, number>;
    for (const m of msgs) {
      let doc: unknown;
      try {
        doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(m.payload));
      } catch {
        doc = undefined;
      }
      const obj = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : null;
      if (m.payload.length > 65_536) seen.oversize++;
      else if (!obj) seen.malformed_json++;
      else if (!known.has(m.topic)) seen.unknown_apartment++;
      else if (Object.entries(obj).some(([k, v]) => k !== 'ts' && typeof v !== 'number')) seen.wrong_type++;
      else if ((obj['ts'] as number) > Date.now() + 3_600_000) seen.future_ts++;
      else if (Math.abs(obj['room_temp_c'] as number) > 45) seen.out_of_range++;
    }
    expect(seen).toEqual(Object.fromEntries(GARBAGE_KINDS.map((k) => [k, 20])));
    expect(s.mqtt!.stats().garbage).toEqual(seen);
  });

  it('keeps at most maxInFlight publishes unacknowledged when the broker is slow', async () => {
    publishDelayMs = 20;
    const s = await sims({ mqtt: { maxInFlight: 4 } });
    const stepping = s.stepNow(60);
    await waitFor('back-pressure', () => s.mqtt!.stats().backlog > 20, 2000);
    expect(s.mqtt!.stats().inFlight).toBeLessThanOrEqual(4);
    await stepping;
    await waitFor('all 40', () => apartmentMsgs().length === 40);
    expect(s.mqtt!.stats()).toMatchObject({ peakInFlight: 4, inFlight: 0, backlog: 0, errors: 0 });
  });
});
