/**
 * End to end: a real hub (startTestHub: config loader, plugin map, pipeline, store, HTTP API) polling the simulator's
 * Modbus face, with the demo network and the shipped template.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_DIR } from '../../../config/load.ts';
import { startModbusFace, type ModbusFace } from '../../../simulators/faces/modbus/index.ts';
import { createNetworkModel, type NetworkModel } from '../../../simulators/model/network-model.ts';
import { startTestHub, type TestHub } from '../../../test/helpers/hub.ts';
import type { SetpointWriter, Source } from '../../source.ts';

let model: NetworkModel;
let face: ModbusFace;
let t: TestHub;

function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 8000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async (): Promise<void> => {
      if (await cond()) resolve();
      else if (Date.now() - t0 > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(() => void tick(), 25);
    };
    void tick();
  });
}

interface Latest {
  assets: Record<string, { lastTs: number | null; quality: string | null; fields: Record<string, { value: unknown; ts: number; quality: string }> }>;
}

async function latest(assets: string): Promise<Latest['assets']> {
  const res = await t.as('operator', { method: 'GET', url: `/api/latest?assets=${assets}` });
  expect(res.statusCode).toBe(200);
  return (res.json() as Latest).assets;
}

beforeAll(async () => {
  model = createNetworkModel(parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'network.yaml'), 'utf8')) as Record<string, unknown>, { settleHours: 1 });
  face = await startModbusFace(model, { gateways: [{ port: 0, units: { 1: 'ss01', 2: 'ss02', 3: 'ss03' } }] });
  t = await startTestHub({
    files: {
      'sources.yaml': `
sources:
  - id: modbus-test
    kind: modbus
    reconnect: { minMs: 100, maxMs: 500 }
    defaults: { template: substation-modbus, host: 127.0.0.1, port: ${face.ports[0]}, intervalMs: 250, timeoutMs: 200 }
    devices:
      - { asset: ss01, unitId: 1, writes: { enabled: true } }
      - { asset: ss02, unitId: 2 }
      - { asset: ss03, unitId: 3 }
`,
    },
  });
});

afterAll(async () => {
  await t?.close();
  await face?.close();
});

describe('hub with a modbus source', () => {
  it('stores what the simulated PLCs report, and shows the source in health', async () => {
    await waitFor(async () => {
      const l = await latest('ss01,ss02,ss03');
      return ['ss01', 'ss02', 'ss03'].every((a) => l[a]?.quality === 'good' && l[a]?.fields['secondary_supply_temp_c'] !== undefined);
    }, 8000, 'latest values of three substations');
    const l = await latest('ss01');
    const tags = model.substationTags('ss01');
    const f = l['ss01']!.fields;
    expect(Math.abs((f['secondary_supply_temp_c']!.value as number) - tags.secondary_supply_temp_c)).toBeLessThan(0.1); // deadband 0.05
    expect(Math.abs((f['secondary_return_pressure_mpa']!.value as number) - tags.secondary_return_pressure_mpa)).toBeLessThan(0.003);
    expect(f['circ_pump_running']!.value).toBe(tags.circ_pump_running);
    expect(f['heat_energy_gj']!.value).toBe(tags.heat_energy_gj);
    const health = await t.as('operator', { method: 'GET', url: '/api/health' });
    expect(health.body).toContain('modbus');
  });

  it('marks the latest values of a device that stops answering bad', async () => {
    const fault = model.inject({ kind: 'comm_loss', target: 'ss02' });
    await waitFor(async () => (await latest('ss02'))['ss02']?.quality === 'bad', 5000, 'ss02 bad');
    const l = await latest('ss02,ss03');
    expect(Object.values(l['ss02']!.fields).every((v) => v.quality === 'bad')).toBe(true);
    expect(l['ss03']!.quality).toBe('good');
    model.clear(fault);
    await waitFor(async () => (await latest('ss02'))['ss02']?.quality === 'good', 5000, 'ss02 good again');
  });

  it('writes a setpoint through the source, which the simulated substation takes', async () => {
    const src = t.hub.services.sources.find((s: Source) => s.kind === 'modbus') as unknown as SetpointWriter;
    expect(src.writablePoints('ss01').map((p) => p.point)).toContain('supply_temp_setpoint_c');
    const res = await src.writePoint('ss01', 'supply_temp_setpoint_c', 58);
    expect(res).toMatchObject({ ok: true, readBack: 58 });
    expect(model.substationTags('ss01').supply_temp_setpoint_c).toBe(58);
    await waitFor(async () => (await latest('ss01'))['ss01']?.fields['supply_temp_setpoint_c']?.value === 58, 3000, 'the new setpoint polled');
    await expect(src.writePoint('ss02', 'supply_temp_setpoint_c', 58)).rejects.toMatchObject({ code: 'WRITE_REFUSED' });
  });
});
