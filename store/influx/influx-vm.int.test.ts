/**
 * The InfluxDB adapter's write path against a real server that takes InfluxDB line protocol on /api/v2/write
 * (VictoriaMetrics, started here on a free port; its export shows what was stored). Checks the schema of
 * docs/influxdb.md on the demo network and that counts arrive exactly. The query side (Flux) needs a real InfluxDB 2:
 * influx-store.int.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetTree } from '../../config/asset-tree.ts';
import { checkAgainst, DEFAULT_CONFIG_DIR, type ConfigProblem } from '../../config/load.ts';
import { NetworkFile } from '../../config/schema.ts';
import type { Reading } from '../../ingest/reading.ts';
import { InfluxTelemetryStore } from './influx-store.ts';
import { treePlaces } from './line-protocol.ts';
import { distinctSamples, VictoriaMetrics, victoriaMetricsMissing } from './victoria-metrics.ts';

const missing = victoriaMetricsMissing();
// CI must run these (exact counts), so there a missing binary fails instead of skipping.
if (missing && process.env['CI']) throw new Error(`VictoriaMetrics is required in CI: ${missing}`);
if (missing) console.warn(`VictoriaMetrics tests skipped: ${missing}`);
const T0 = Date.UTC(2026, 0, 15);

function demoTree(): AssetTree {
  const problems: ConfigProblem[] = [];
  const net = checkAgainst(NetworkFile, parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'network.yaml'), 'utf8')), 'network.yaml', problems);
  if (!net) throw new Error(JSON.stringify(problems));
  return new AssetTree(net);
}

describe.skipIf(missing !== null)(`InfluxDB adapter writes to a real line-protocol server (VictoriaMetrics)${missing ? ` — skipped: ${missing}` : ''}`, () => {
  let vm: VictoriaMetrics;
  let store: InfluxTelemetryStore;
  const tree = demoTree();

  beforeAll(async () => {
    vm = await VictoriaMetrics.start();
    store = new InfluxTelemetryStore({ url: vm.url, org: 'warmgrid', bucket: 'telemetry', token: 'test', place: treePlaces(tree), checkOnOpen: false, maxLinesPerRequest: 1000 });
    await store.open();
  });
  afterAll(async () => {
    await store?.close();
    await vm?.close();
  });

  it('stores a measurement per asset kind, tagged with the asset and its place in the network', async () => {
    const readings: Reading[] = [
      { asset: 'ss01', ts: T0, fields: { supply_temp_c: 71.5, pump_on: true, mode: 'auto' }, quality: 'good', source: 'modbus:ss01' },
      { asset: 'ss01', ts: T0 + 1000, fields: { supply_temp_c: 71.25, pump_on: false }, quality: 'uncertain', source: 'modbus:ss01' },
      { asset: 'ss01-b2-0302', ts: T0, fields: { room_temp_c: 19.5 }, quality: 'good', source: 'mqtt:t' },
      { asset: 'ss01', ts: T0 + 2000, fields: { supply_temp_c: 185 }, quality: 'bad', source: 'modbus:ss01' },
    ];
    await store.write(readings);
    const byKey = distinctSamples(await vm.export('{asset=~"ss01.*"}')).byKey;
    const place = 'heat_source=hs1,network=net1';
    expect(Object.fromEntries([...byKey].map(([k, m]) => [k, Object.fromEntries(m)]))).toEqual({
      [`__name__=substation_supply_temp_c,asset=ss01,${place},quality=good`]: { [T0]: 71.5 },
      [`__name__=substation_pump_on,asset=ss01,${place},quality=good`]: { [T0]: 1 },
      // VictoriaMetrics keeps string fields as 0-valued samples; InfluxDB keeps the string.
      [`__name__=substation_mode,asset=ss01,${place},quality=good`]: { [T0]: 0 },
      [`__name__=substation_supply_temp_c,asset=ss01,${place},quality=uncertain`]: { [T0 + 1000]: 71.25 },
      [`__name__=substation_pump_on,asset=ss01,${place},quality=uncertain`]: { [T0 + 1000]: 0 },
      [`__name__=substation_supply_temp_c,asset=ss01,${place},quality=bad`]: { [T0 + 2000]: 185 },
      [`__name__=apartment_room_temp_c,asset=ss01-b2-0302,building=ss01-b2,${place},quality=good,substation=ss01`]: { [T0]: 19.5 },
    });
  });

  it('delivers large batches exactly, in bounded requests', async () => {
    const substations = tree.ofKind('substation');
    const before = store.stats();
    let sent = 0;
    for (let step = 0; step < 30; step++) {
      const batch: Reading[] = [];
      for (const [i, s] of substations.entries()) {
        const fields: Record<string, number> = {};
        for (let k = 0; k < 40; k++) fields[`p${k}_kw`] = step * 100 + i + k / 8;
        batch.push({ asset: s.id, ts: T0 + 3_600_000 + step * 1000, fields, quality: 'good', source: 'bench:x' });
      }
      await store.write(batch);
      sent += batch.length * 40;
    }
    const got = distinctSamples(await vm.export('{__name__=~"substation_p.*_kw"}'));
    expect(got.distinct).toBe(sent);
    expect(got.raw).toBe(sent);
    expect(got.conflicting).toBe(0);
    const after = store.stats();
    expect(after.rowsWritten - before.rowsWritten).toBe(30 * substations.length);
    expect(after.writeErrors).toBe(0);
  });
});
