/**
 * createTelemetryStore for `store.kind: influx`, from a configuration as the hub loads it: the InfluxDB store behind
 * the buffer, the buffer under dataDir, measurement and tags from the asset tree. InfluxDB is down when the store
 * opens (the hub still starts and buffers) and comes up later (VictoriaMetrics stands in for its write API).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../config/load.ts';
import { SOURCE_PLUGINS } from '../ingest/sources/index.ts';
import { BufferedTelemetryStore } from './buffer/buffered-store.ts';
import { EmbeddedTelemetryStore } from './embedded/embedded-store.ts';
import { InfluxTelemetryStore } from './influx/influx-store.ts';
import { distinctSamples, VictoriaMetrics, victoriaMetricsMissing } from './influx/victoria-metrics.ts';
import { Registry } from 'prom-client';
import { createTelemetryStore } from './index.ts';
import { registerStoreMetrics } from './metrics.ts';

const missing = victoriaMetricsMissing();
if (missing && process.env['CI']) throw new Error(`VictoriaMetrics is required in CI: ${missing}`);

describe('createTelemetryStore', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-store-index-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('builds the embedded store by default', () => {
    const config = loadConfig({ dir: DEFAULT_CONFIG_DIR, plugins: SOURCE_PLUGINS, env: { DATA_DIR: dataDir } });
    expect(createTelemetryStore(config)).toBeInstanceOf(EmbeddedTelemetryStore);
  });

  it.skipIf(missing !== null)('builds InfluxDB behind the buffer; a hub starts while InfluxDB is down and delivers once it is up', async () => {
    const vm = await VictoriaMetrics.start({ start: false });
    try {
      const env = { DATA_DIR: dataDir, STORE: 'influx', INFLUX_URL: vm.url, INFLUX_ORG: 'warmgrid', INFLUX_BUCKET: 'telemetry', INFLUX_TOKEN: 'secret-token' };
      const config = loadConfig({ dir: DEFAULT_CONFIG_DIR, plugins: SOURCE_PLUGINS, env });
      const store = createTelemetryStore(config);
      expect(store).toBeInstanceOf(BufferedTelemetryStore);
      expect((store as BufferedTelemetryStore).remote).toBeInstanceOf(InfluxTelemetryStore);
      const registry = new Registry();
      registerStoreMetrics(registry, store);
      await store.open();
      const ts = Date.UTC(2026, 0, 15);
      await store.write([{ asset: 'ss01-b1-0302', ts, fields: { room_temp_c: 20.5 }, quality: 'good', source: 'mqtt:x' }]);
      expect(readdirSync(path.join(dataDir, 'buffer')).some((f) => f.endsWith('.seg'))).toBe(true);
      expect(await store.health()).toMatchObject({ status: 'degraded', mode: 'buffering', bufferReadings: 1 });
      const scraped = await registry.metrics();
      expect(scraped).toMatch(/^warmgrid_store_buffering 1$/m);
      expect(scraped).toMatch(/^warmgrid_store_buffer_readings 1$/m);
      expect(Number(/^warmgrid_store_buffer_bytes (\d+)$/m.exec(scraped)?.[1])).toBeGreaterThan(0);
      await vm.start();
      await (store as BufferedTelemetryStore).drained();
      await store.close();
      const got = distinctSamples(await vm.export('{__name__="apartment_room_temp_c"}'));
      expect([...got.byKey.keys()]).toEqual(['__name__=apartment_room_temp_c,asset=ss01-b1-0302,building=ss01-b1,heat_source=hs1,network=net1,quality=good,substation=ss01']);
      expect(got.distinct).toBe(1);
    } finally {
      await vm.close();
    }
  }, 30_000);
});
