/**
 * The MQTT source against real brokers: the embedded aedes broker started in-process on port 0 (MQTT 3.1.1), and
 * Mosquitto (MQTT 5) when MQTT_URL is set. Each run uses its own topic prefix and client ids, so parallel runs on one
 * Mosquitto do not meet; Mosquitto sessions expire a minute after the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sparkplug from 'sparkplug-payload';
import { Value } from '@sinclair/typebox/value';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetTree } from '../../../config/asset-tree.ts';
import { systemClock } from '../../../core/clock.ts';
import { REDACT_PATHS, silentLogger } from '../../../core/log.ts';
import type { Reading } from '../../reading.ts';
import type { TelemetryStore } from '../../../store/telemetry-store.ts';
import { startTestHub, type TestHub } from '../../../test/helpers/hub.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../broker/embedded-broker.ts';
import { MqttSourceConfig } from './config.ts';
import { MqttSource } from './mqtt-source.ts';

const codec = sparkplug.get('spBv1.0')!;
const MOSQUITTO_URL = process.env['MQTT_URL'];

interface BrokerUnderTest {
  url: string;
  protocolVersion: 4 | 5;
  /** aedes only: counts PUBACKs the broker received from a client id. */
  acksFrom?(clientId: string): number;
  close(): Promise<void>;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function sourceEntry(b: BrokerUnderTest, run: string, id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    kind: 'mqtt',
    url: b.url,
    protocolVersion: b.protocolVersion,
    clientId: `${run}-${id}`,
    sessionExpirySec: 60,
    reconnect: { minMs: 100, maxMs: 1000 },
    connectTimeoutMs: 5000,
    maxPayloadBytes: 4096,
    rebirthIntervalMs: 0,
    topics: [
      { filter: `${run}/+/+/+/telemetry`, asset: '{2}-{3}', assetKind: 'apartment' },
      { filter: `${run}/weather/+/telemetry`, asset: '{2}', assetKind: 'weather_station', forecastHorizonsH: [1, 3] },
      {
        filter: `spBv1.0/${run}/#`,
        format: 'sparkplug',
        metrics: { 'Room/Temperature': 'room_temp_c', Valve: 'valve_pct', 'Supply/Temperature': 'secondary_supply_temp_c' },
        devices: { edge1: 'ss02', 'edge1/th-0101': 'ss02-b1-0101', 'edge1/th-0102': 'ss02-b1-0102' },
      },
    ],
    ...extra,
  };
}

async function client(b: BrokerUnderTest, id: string): Promise<MqttClient> {
  return mqtt.connectAsync(b.url, { protocolVersion: b.protocolVersion, clientId: id, clean: true, reconnectPeriod: 0 });
}

function sourceOf(t: TestHub, id = 'mq'): MqttSource {
  return t.hub.services.sources.find((x) => x.id === id) as MqttSource;
}

function stat(src: MqttSource, key: string): number {
  return src.health()[key] as number;
}

async function historyOf(t: TestHub, asset: string, field: string, from: number, to: number): Promise<[number, number][]> {
  const res = await t.as('engineer', { method: 'GET', url: `/api/history?asset=${asset}&fields=${field}&from=${from}&to=${to}` });
  if (res.statusCode !== 200) throw new Error(res.body);
  return (res.json() as { series: Record<string, [number, number][]> }).series[field] ?? [];
}

async function metricsText(t: TestHub): Promise<string> {
  return (await t.as('engineer', { method: 'GET', url: '/metrics' })).body;
}

function counter(text: string, name: string, reason: string): number {
  const m = new RegExp(`^${name}\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** A store whose writes wait for `open()` and can be made to fail: the tests' view of "durable". */
class ControlledStore {
  blocked: Promise<void> | null = null;
  #release: (() => void) | null = null;
  failing = false;
  writes = 0;
  failures = 0;
  constructor(readonly inner: TelemetryStore) {}

  block(): void {
    this.blocked = new Promise((r) => (this.#release = r));
  }

  open(): void {
    this.#release?.();
    this.blocked = null;
  }

  async write(batch: readonly Reading[]): Promise<void> {
    if (this.blocked) await this.blocked;
    if (this.failing) {
      this.failures++;
      throw new Error('store is down (test)');
    }
    await this.inner.write(batch);
    this.writes++;
  }

  wrap(): TelemetryStore {
    const write = (batch: readonly Reading[]): Promise<void> => this.write(batch);
    return new Proxy(this.inner, {
      get(target, prop, receiver) {
        if (prop === 'write') return write;
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}

function suite(name: string, makeBroker: () => Promise<BrokerUnderTest>, opts: { sharedSubscriptions: boolean }): void {
  describe(name, () => {
    let broker: BrokerUnderTest;
    let pub: MqttClient;
    let t: TestHub;
    let store!: ControlledStore;
    let yaml: string;
    const run = `wgt${process.pid}${Date.now().toString(36)}`;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-mqtt-'));
    const hubClientId = `${run}-mq`;

    beforeAll(async () => {
      broker = await makeBroker();
      pub = await client(broker, `${run}-pub`);
      const sources = [sourceEntry(broker, run, 'mq')];
      if (opts.sharedSubscriptions) {
        // Two sources with one share group stand for two hub instances: the broker gives each message to one of them.
        const topics = [{ filter: `${run}/shared/+/+/telemetry`, asset: '{2}-{3}' }];
        sources.push(sourceEntry(broker, run, 'sh1', { shareGroup: 'wg', topics }), sourceEntry(broker, run, 'sh2', { shareGroup: 'wg', topics }));
      }
      yaml = JSON.stringify({ sources });
      t = await startTestHub({ files: { 'sources.yaml': yaml }, dataDir, wrapStore: (s) => (store = new ControlledStore(s)).wrap() });
    });
    afterAll(async () => {
      await t?.close();
      await pub?.endAsync();
      await broker?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const publish = (topic: string, payload: unknown, qos: 0 | 1 = 1): Promise<unknown> =>
      pub.publishAsync(topic, payload instanceof Uint8Array ? Buffer.from(payload) : typeof payload === 'string' ? payload : JSON.stringify(payload), { qos });

    it('subscribes once per template and reports up', () => {
      expect(sourceOf(t).health()).toMatchObject({ status: 'up', connected: true });
    });

    it('stores published thermostat and weather readings and shows them on the live socket', async () => {
        const ws = await t.hub.app.injectWS('/api/live', { headers: { cookie: t.cookies.operator } });
        const messages: Record<string, unknown>[] = [];
        ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
        ws.send(JSON.stringify({ type: 'subscribe', assets: ['ss01-b2-0302'] }));
        await waitFor('snapshot', () => messages.some((m) => m['type'] === 'snapshot'));

        const t0 = Date.now() - 60_000;
        for (let i = 0; i < 5; i++) {
          await publish(`${run}/ss01/ss01-b2/0302/telemetry`, { ts: t0 + i * 1000, room_temp_c: 20 + i / 10, setpoint_c: 21, valve_pct: 60, battery_pct: 87, rssi_dbm: -71 });
        }
        await publish(`${run}/ss01/ss01-b2/0303/telemetry`, { ts: new Date(t0).toISOString(), room_temp_c: 19.2 });
        const forecast = [1, 2, 3].map((h) => ({ ts: t0 + h * 3_600_000, outdoor_temp_c: -3 - h }));
        await publish(`${run}/weather/ws1/telemetry`, { ts: t0, outdoor_temp_c: -2.5, humidity_pct: 81, wind_ms: 3.1, solar_wm2: 0, forecast });

        const temps = await waitFor('thermostat history', async () => {
          const h = await historyOf(t, 'ss01-b2-0302', 'room_temp_c', t0, t0 + 10_000);
          return h.length === 5 ? h : undefined;
        });
        expect(temps).toEqual([0, 1, 2, 3, 4].map((i) => [t0 + i * 1000, 20 + i / 10]));
        expect(await historyOf(t, 'ss01-b2-0303', 'room_temp_c', t0, t0 + 1)).toEqual([[t0, 19.2]]);
        const f3 = await waitFor('forecast', async () => {
          const h = await historyOf(t, 'ws1', 'forecast_3h_temp_c', t0, t0 + 1);
          return h.length === 1 ? h : undefined;
        });
        expect(f3).toEqual([[t0, -6]]);
        expect(await historyOf(t, 'ws1', 'forecast_1h_temp_c', t0, t0 + 1)).toEqual([[t0, -4]]);

        await waitFor('live update', () => messages.some((m) => m['type'] === 'update' && JSON.stringify(m).includes('"room_temp_c":[20.4')));
        ws.terminate();
      });

      it('Sparkplug B: births define aliases, data lands, a death marks the assets bad', async () => {
        const t0 = Date.now() - 30_000;
        const group = `spBv1.0/${run}`;
        const ncmd: string[] = [];
        const watcher = await client(broker, `${run}-watch`);
        await watcher.subscribeAsync(`${group}/NCMD/+`, { qos: 0 });
        watcher.on('message', (topic, payload) => {
          const p = codec.decodePayload(payload);
          if (p.metrics?.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) ncmd.push(topic);
        });

        // Data before any birth: dropped, counted, and the node is asked to rebirth.
        await publish(`${group}/DDATA/edge1/th-0101`, codec.encodePayload({ timestamp: t0, seq: 4, metrics: [{ alias: 1, type: 'Double', value: 1 }] }));
        await waitFor('rebirth request', () => ncmd.includes(`${group}/NCMD/edge1`));

        await publish(`${group}/NBIRTH/edge1`, codec.encodePayload({ timestamp: t0, seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 7 }, { name: 'Supply/Temperature', alias: 1, type: 'Float', value: 55.5 }] }));
        await publish(`${group}/DBIRTH/edge1/th-0101`, codec.encodePayload({ timestamp: t0, seq: 1, metrics: [{ name: 'Room/Temperature', alias: 10, type: 'Double', value: 20.1 }, { name: 'Valve', alias: 11, type: 'Int32', value: 40 }] }));
        await publish(`${group}/DBIRTH/edge1/th-0102`, codec.encodePayload({ timestamp: t0, seq: 2, metrics: [{ name: 'Room/Temperature', alias: 10, type: 'Double', value: 18.9 }] }));
        await publish(`${group}/DDATA/edge1/th-0101`, codec.encodePayload({ timestamp: t0 + 1000, seq: 3, metrics: [{ alias: 10, type: 'Double', value: 20.3 }, { alias: 11, type: 'Int32', value: 45 }] }));
        await publish(`${group}/NDATA/edge1`, codec.encodePayload({ timestamp: t0 + 1000, seq: 4, metrics: [{ alias: 1, type: 'Float', value: 56.25 }] }));

        const room = await waitFor('sparkplug history', async () => {
          const h = await historyOf(t, 'ss02-b1-0101', 'room_temp_c', t0, t0 + 2000);
          return h.length === 2 ? h : undefined;
        });
        expect(room).toEqual([
          [t0, 20.1],
          [t0 + 1000, 20.3],
        ]);
        expect(await historyOf(t, 'ss02-b1-0101', 'valve_pct', t0, t0 + 2000)).toEqual([
          [t0, 40],
          [t0 + 1000, 45],
        ]);
        expect(await waitFor('node history', async () => ((await historyOf(t, 'ss02', 'secondary_supply_temp_c', t0, t0 + 2000)).length === 2 ? true : undefined))).toBe(true);

        // A stale will (wrong bdSeq) changes nothing; the real one marks the node and its devices bad.
        await publish(`${group}/NDEATH/edge1`, codec.encodePayload({ metrics: [{ name: 'bdSeq', type: 'UInt64', value: 6 }] }));
        await publish(`${group}/NDEATH/edge1`, codec.encodePayload({ metrics: [{ name: 'bdSeq', type: 'UInt64', value: 7 }] }));
        const latest = await waitFor('bad quality', async () => {
          const res = await t.as('operator', { method: 'GET', url: '/api/latest?assets=ss02,ss02-b1-0101,ss02-b1-0102' });
          const body = res.json() as { assets: Record<string, { fields: Record<string, { quality: string }> }> };
          const q = ['ss02', 'ss02-b1-0101', 'ss02-b1-0102'].map((a) => Object.values(body.assets[a]?.fields ?? {}).map((f) => f.quality));
          return q.every((list) => list.length > 0 && list.every((x) => x === 'bad')) ? body : undefined;
        });
        expect(latest.assets['ss02-b1-0101']!.fields['room_temp_c']).toMatchObject({ quality: 'bad' });

        const m = await metricsText(t);
        expect(counter(m, 'warmgrid_readings_rejected_total', 'sparkplug_no_birth')).toBeGreaterThanOrEqual(1);
        expect(counter(m, 'warmgrid_readings_rejected_total', 'sparkplug_bdseq')).toBe(1);
        await watcher.endAsync();
      });

      it('rejects ten kinds of bad input with a reason each, acknowledges them, and keeps storing good readings', async () => {
        const t0 = Date.now() - 20_000;
        const before = await metricsText(t);
        // Steps of 0.2 K: the demo's apartment deadband (0.05 K) must not swallow them.
        const good = (i: number) => publish(`${run}/ss03/ss03-b1/0101/telemetry`, { ts: t0 + i, room_temp_c: 20 + i / 5 });
        const bad: [string, string, unknown][] = [
          ['malformed', `${run}/ss03/ss03-b1/0102/telemetry`, '{"room_temp_c": 20.'],
          ['malformed', `${run}/ss03/ss03-b1/0102/telemetry`, '[1,2,3]'],
          ['wrong_type', `${run}/ss03/ss03-b1/0102/telemetry`, { ts: t0, room_temp_c: 'warm' }],
          ['unknown_asset', `${run}/ss03/ss03-b1/9999/telemetry`, { ts: t0, room_temp_c: 20 }],
          ['unknown_asset', `${run}/ss03/ss03/0101/telemetry`, { ts: t0, room_temp_c: 20 }],
          ['ts_future', `${run}/ss03/ss03-b1/0102/telemetry`, { ts: Date.now() + 86_400_000, room_temp_c: 20 }],
          ['ts_past', `${run}/ss03/ss03-b1/0102/telemetry`, { ts: Date.now() - 30 * 86_400_000, room_temp_c: 20 }],
          ['ts_invalid', `${run}/ss03/ss03-b1/0102/telemetry`, { ts: 'tomorrow', room_temp_c: 20 }],
          ['oversize', `${run}/ss03/ss03-b1/0102/telemetry`, JSON.stringify({ ts: t0, room_temp_c: 20, pad: 'x'.repeat(5000) })],
          ['unmatched_topic', `spBv1.0/${run}/HELLO/edge9`, 'x'],
          ['malformed', `spBv1.0/${run}/NBIRTH/edge9`, Buffer.from([0x12, 0x03, 0x01, 0x02, 0x03])],
          ['no_fields', `${run}/ss03/ss03-b1/0102/telemetry`, { ts: t0 }],
          ['invalid_quality', `${run}/ss03/ss03-b1/0102/telemetry`, { ts: t0, quality: 'fine', room_temp_c: 20 }],
        ];
        let i = 0;
        for (const [, topic, payload] of bad) {
          await good(i++);
          await publish(topic, payload);
        }
        // Out of range is a pipeline rule (apartment room_temp_c -10..45 in the demo hub.yaml): the field is rejected.
        await publish(`${run}/ss03/ss03-b1/0102/telemetry`, { ts: t0, room_temp_c: 300, valve_pct: 50 });
        await good(i++);

        const stored = await waitFor('good readings', async () => {
          const h = await historyOf(t, 'ss03-b1-0101', 'room_temp_c', t0, t0 + 100);
          return h.length === i ? h : undefined;
        });
        expect(stored.length).toBe(bad.length + 1);
        const after = await waitFor('rejections counted', async () => {
          const m = await metricsText(t);
          return counter(m, 'warmgrid_fields_rejected_total', 'out_of_range') > counter(before, 'warmgrid_fields_rejected_total', 'out_of_range') ? m : undefined;
        });
        const want = new Map<string, number>();
        for (const [reason] of bad) want.set(reason, (want.get(reason) ?? 0) + 1);
        for (const [reason, n] of want) {
          expect(counter(after, 'warmgrid_readings_rejected_total', reason) - counter(before, 'warmgrid_readings_rejected_total', reason), reason).toBe(n);
        }
        // The valid field of the out-of-range sample was kept.
        expect(await historyOf(t, 'ss03-b1-0102', 'valve_pct', t0, t0 + 1)).toEqual([[t0, 50]]);
        expect(sourceOf(t).health()).toMatchObject({ status: 'up', unacked: 0 });
      });

    it('holds every PUBACK until the store has the readings; a store outage makes the broker re-send them', async () => {
      const src = sourceOf(t);
      const t0 = Date.now() - 10_000;
      const N = 40;
      const topic = `${run}/ss04/ss04-b1/0101/telemetry`;
      // PUBACKs of earlier tests may still be on their way to the broker.
      if (broker.acksFrom) await waitFor('broker caught up', () => broker.acksFrom!(hubClientId) === stat(src, 'acked'));
      const received0 = stat(src, 'received');
      const acked0 = stat(src, 'acked');
      const brokerAcks0 = broker.acksFrom?.(hubClientId) ?? 0;

      // 1. Store blocked: every message is received and decoded, none is acknowledged.
      store.block();
      try {
        for (let i = 0; i < N; i++) await publish(topic, { ts: t0 + i, room_temp_c: 20 + i / 5 });
        await waitFor('all messages received', () => stat(src, 'received') === received0 + N);
        // Give early PUBACKs, if any were sent, time to reach the broker.
        await new Promise((r) => setTimeout(r, 200));
        expect(src.health()).toMatchObject({ acked: acked0, unacked: N, holding: N });
        if (broker.acksFrom) expect(broker.acksFrom(hubClientId)).toBe(brokerAcks0);
      } finally {
        store.open();
      }
      await waitFor('acks after durability', () => stat(src, 'acked') === acked0 + N);
      if (broker.acksFrom) await waitFor('broker saw the acks', () => broker.acksFrom!(hubClientId) === brokerAcks0 + N);

      // 2. Store down: emits fail, nothing is acknowledged, the source reconnects and the broker re-sends.
      store.failing = true;
      const received1 = stat(src, 'received');
      const connects1 = stat(src, 'connects');
      try {
        for (let i = N; i < 2 * N; i++) await publish(topic, { ts: t0 + i, room_temp_c: 20 + i / 5 });
        await waitFor('a failed emit', () => stat(src, 'emitFailures') > 0);
      } finally {
        store.failing = false;
      }
      const all = await waitFor(
        'readings stored after redelivery',
        async () => {
          const h = await historyOf(t, 'ss04-b1-0101', 'room_temp_c', t0, t0 + 1000);
          return h.length === 2 * N ? h : undefined;
        },
        20_000,
      );
      expect(all.map((p) => p[0])).toEqual(Array.from({ length: 2 * N }, (_, i) => t0 + i));
      expect(stat(src, 'received')).toBeGreaterThan(received1 + N);
      expect(stat(src, 'connects')).toBeGreaterThan(connects1);
      await waitFor('all acknowledged', () => stat(src, 'unacked') === 0);
    });

    it.runIf(opts.sharedSubscriptions)('splits the load between hub instances with a shared subscription', async () => {
      const t0 = Date.now() - 10_000;
      const N = 40;
      for (let i = 0; i < N; i++) await publish(`${run}/shared/ss06-b1/0101/telemetry`, { ts: t0 + i, room_temp_c: 20 + i / 5 });
      const [a, b] = await waitFor('every message handled once', () => {
        const x = [stat(sourceOf(t, 'sh1'), 'durable'), stat(sourceOf(t, 'sh2'), 'durable')];
        return x[0]! + x[1]! === N ? x : undefined;
      });
      expect(a! > 0 && b! > 0).toBe(true);
      expect(await historyOf(t, 'ss06-b1-0101', 'room_temp_c', t0, t0 + 100)).toHaveLength(N);
    });

    // Last: it restarts the hub.
    it('delivers readings published while the hub was down once it is back (persistent session)', async () => {
      const t0 = Date.now() - 10_000;
      const topic = `${run}/ss05/ss05-b1/0101/telemetry`;
      await publish(topic, { ts: t0, room_temp_c: 20 });
      await waitFor('first reading', async () => (await historyOf(t, 'ss05-b1-0101', 'room_temp_c', t0, t0 + 100)).length === 1);
      await t.close();

      for (let i = 1; i <= 20; i++) await publish(topic, { ts: t0 + i, room_temp_c: 20 + i / 5 });

      t = await startTestHub({ files: { 'sources.yaml': yaml }, dataDir });
      const h = await waitFor('readings from while the hub was down', async () => {
        const x = await historyOf(t, 'ss05-b1-0101', 'room_temp_c', t0, t0 + 100);
        return x.length === 21 ? x : undefined;
      });
      expect(h.map((p) => p[0])).toEqual(Array.from({ length: 21 }, (_, i) => t0 + i));
    });
  });
}

suite(
  'MQTT source against the embedded broker (aedes, MQTT 3.1.1)',
  async () => {
    const b: EmbeddedBroker = await startEmbeddedBroker({ port: 0, log: silentLogger() });
    const acks = new Map<string, number>();
    b.aedes.on('ack', (_packet, c) => acks.set(c.id, (acks.get(c.id) ?? 0) + 1));
    return { url: b.url, protocolVersion: 4, acksFrom: (id) => acks.get(id) ?? 0, close: () => b.close() };
  },
  // aedes has no shared subscriptions.
  { sharedSubscriptions: false },
);

describe.skipIf(!MOSQUITTO_URL)('Mosquitto (MQTT 5): runs when MQTT_URL is set, e.g. MQTT_URL=mqtt://127.0.0.1:1883', () => {
  suite('MQTT source against Mosquitto (MQTT 5)', async () => ({ url: MOSQUITTO_URL!, protocolVersion: 5, close: async () => {} }), { sharedSubscriptions: true });
});

describe('MQTT source start-up problems', () => {
  function sourceWith(over: Record<string, unknown>, lines: string[]): MqttSource {
    const cfg = Value.Default(
      MqttSourceConfig,
      Value.Convert(MqttSourceConfig, { id: 'x', kind: 'mqtt', clientId: 'wg-startup', connectTimeoutMs: 500, reconnect: { minMs: 50, maxMs: 100 }, topics: [{ filter: 'a/+', asset: '{1}' }], ...over }),
    ) as MqttSourceConfig;
    const log = pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, { write: (s: string) => void lines.push(s) });
    return new MqttSource(cfg, { log, clock: systemClock, assets: new AssetTree({ company: { id: 'c', name: 'c' }, climate: { city: 'x', designOutdoorC: -5, seasonStart: '11-15', seasonEnd: '03-15' }, heatSources: [], weatherStations: [] }), templates: new Map(), emit: async () => {}, reject: () => {} });
  }

  it('does not hold up start-up when the broker refuses, says why once, and never logs the password', async () => {
    const b = await startEmbeddedBroker({ port: 0, log: silentLogger(), username: 'hub', password: 'right-one' });
    const lines: string[] = [];
    // MQTT 5 against aedes (3.1.1 only): refused with "unacceptable protocol version".
    const v5 = sourceWith({ url: b.url, protocolVersion: 5 }, lines);
    await v5.start();
    await waitFor('a few retries', () => lines.length >= 2);
    expect(v5.health()).toMatchObject({ status: 'down', connected: false });
    expect(lines.filter((l) => l.includes('set protocolVersion: 4'))).toHaveLength(1);
    await v5.stop();

    lines.length = 0;
    const wrong = sourceWith({ url: b.url, protocolVersion: 4, username: 'hub', password: 'hunter2-secret' }, lines);
    await wrong.start();
    expect(wrong.health()['status']).toBe('down');
    expect(lines.filter((l) => l.includes('refused the credentials'))).toHaveLength(1);
    expect(lines.join('\n') + JSON.stringify(wrong.health())).not.toContain('hunter2-secret');
    await wrong.stop();
    await b.close();
  });
});
