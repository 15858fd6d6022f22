/**
 * `npm start` as a newcomer runs it: the demo (embedded broker, simulators, hub) serves /api/health and /, live values
 * arrive from the Modbus and MQTT simulators, and SIGTERM stops it cleanly. (How fast it starts is printed in
 * its banner, "started in"; a timing is not asserted here, the limit below only guards against a hang.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

describe('npm start (demo)', () => {
  it('serves health and the page, shows live values, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-start-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--demo'], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MQTT_PORT: '0', SIM_MODBUS_PORT: '0', SIM_OPCUA_PORT: '0', SIM_HTTP_PORT: '0', SIM_PUBLISH_INTERVAL: '2', SIM_WEATHER_INTERVAL: '2', DATA_DIR: dataDir, MQTT_URL: '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let ok = false;
    try {
      const t0 = Date.now();
      while (!/dashboard\s+(http:\/\/\S+)\//.test(out)) {
        if (child.exitCode !== null) throw new Error(`exited: ${err}`);
        if (Date.now() - t0 > 90_000) throw new Error(`not up within 90 s:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const base = /dashboard\s+(http:\/\/\S+)\//.exec(out)![1]!;
      const health = await fetch(`${base}/api/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe('up');
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('warmgrid');

      // The banner's demo account logs in and sees values from both protocols.
      const password = /^\s+operator\s+(\S+)$/m.exec(out)![1]!;
      const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password }) });
      expect(login.status).toBe(200);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      let fields: Record<string, { fields: Record<string, unknown> }> = {};
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${base}/api/latest?assets=ss01,ss01-b1-0101,ws1`, { headers: { cookie } });
        fields = ((await res.json()) as { assets: typeof fields }).assets;
        if ('secondary_supply_temp_c' in fields['ss01']!.fields && 'room_temp_c' in fields['ss01-b1-0101']!.fields && 'outdoor_temp_c' in fields['ws1']!.fields) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(Object.keys(fields['ss01']!.fields)).toContain('secondary_supply_temp_c');
      expect(Object.keys(fields['ss01-b1-0101']!.fields)).toContain('room_temp_c');
      expect(Object.keys(fields['ws1']!.fields)).toContain('outdoor_temp_c');
      ok = true;
    } finally {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      // Only a run that got this far says something about the shutdown; otherwise the first failure stands.
      if (ok) expect(code, err).toBe(0);
    }
  }, 150_000);
});
