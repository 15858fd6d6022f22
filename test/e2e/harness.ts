/**
 * End-to-end harness: the demo network's simulators (Modbus TCP face for the 12 substation PLCs, MQTT face for the
 * thermostats and the weather station) feeding a real hub (startTestHub with both sources, listening on a real port,
 * serving the built dashboard), and headless Chromium driving the pages.
 *
 * Chromium is Debian's /usr/bin/chromium (CI installs it); without it the suites skip with a message. Screenshots
 * go to test-output/e2e/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONFIG_DIR } from '../../config/load.ts';
import { silentLogger } from '../../core/log.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../ingest/broker/embedded-broker.ts';
import { startSimulators, type Simulators } from '../../simulators/runtime.ts';
import type { Role } from '../../server/roles.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

export const SHOTS = path.resolve(import.meta.dirname, '..', '..', 'test-output', 'e2e');


export interface E2E {
  t: TestHub;
  sims: Simulators;
  broker: EmbeddedBroker;
  browser: Browser;
  base: string;
  /** A fresh browser context (own cookies) at 1920×1080 with the given browser language. */
  context(opts?: { locale?: string; width?: number; height?: number }): Promise<BrowserContext>;
  /** A page logged in through the login page as the test user of a role. */
  loginAs(role: Role, opts?: { locale?: string; width?: number; height?: number }): Promise<Page>;
  /** A wall page opened with a display-token link, as a kiosk would. */
  openWall(opts?: { locale?: string; width?: number; height?: number }): Promise<Page>;
  shot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/** The demo's source entries, pointed at the test broker and the simulators' Modbus port (ss01 writable). */
function sourcesYaml(mqttUrl: string, modbusPort: number): string {
  const demo = parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'sources.yaml'), 'utf8')) as { sources: Record<string, unknown>[] };
  const mqtt = demo.sources.find((s) => s['kind'] === 'mqtt')!;
  const devices = Array.from({ length: 12 }, (_, i) => {
    const asset = `ss${String(i + 1).padStart(2, '0')}`;
    return { asset, unitId: i + 1, ...(asset === 'ss01' ? { writes: { enabled: true } } : {}) };
  });
  return stringify({
    sources: [
      { ...mqtt, url: mqttUrl, protocolVersion: 4, clientId: `e2e-hub-${process.pid}` },
      {
        id: 'modbus-e2e',
        kind: 'modbus',
        reconnect: { minMs: 100, maxMs: 1000 },
        defaults: { template: 'substation-modbus', host: '127.0.0.1', port: modbusPort, intervalMs: 1000, timeoutMs: 1000 },
        devices,
      },
    ],
  });
}

export async function startE2E(): Promise<E2E> {
  mkdirSync(SHOTS, { recursive: true });
  const broker = await startEmbeddedBroker({ port: 0, log: silentLogger() });
  const sims = await startSimulators({
    settleHours: 6,
    timeScale: 1,
    mqtt: { url: broker.url, publishIntervalS: 10, weatherIntervalS: 10, clientId: `e2e-sims-${process.pid}` },
    modbus: { port: 0 },
    log: pino({ level: 'silent' }),
  });
  const t = await startTestHub({
    files: { 'sources.yaml': sourcesYaml(broker.url, sims.modbus!.ports[0]!) },
    // Writes enabled for ss01. The hub's preset curve and the simulated PLC's own curve may differ by more than the
    // default 5 K step at a fresh start; the page is under test here, not the guards (test/control.int.test.ts).
    hubYaml: 'control: { writes: { enabled: [ss01], maxStepK: 20, maxRateKPerH: 40 } }',
  });
  await t.hub.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(t.hub.app.server.address() as { port: number }).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });

  const e: E2E = {
    t,
    sims,
    broker,
    browser,
    base,
    async context(o = {}) {
      return browser.newContext({ viewport: { width: o.width ?? 1920, height: o.height ?? 1080 }, locale: o.locale ?? 'en-US', baseURL: base });
    },
    async loginAs(role, o = {}) {
      const ctx = await e.context(o);
      const page = await ctx.newPage();
      await page.goto('/login');
      await page.fill('input[name=username]', `test-${role}`);
      await page.fill('input[name=password]', t.passwords[role]);
      await page.click('button[type=submit]');
      await page.waitForURL((u) => !u.pathname.startsWith('/login'));
      return page;
    },
    async openWall(o = {}) {
      const { token } = await t.hub.services.auth.createToken({ name: `e2e wall ${Date.now()}`, roles: ['display'] }, 'system');
      const ctx = await e.context(o);
      const page = await ctx.newPage();
      await page.goto(`/api/auth/display?token=${encodeURIComponent(token)}`);
      await page.waitForURL((u) => u.pathname === '/wall');
      await page.locator('.wall[data-ready="1"]').waitFor({ timeout: 30_000 });
      return page;
    },
    async shot(page, name) {
      const file = path.join(SHOTS, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await sims.close().catch(() => undefined);
      await t.close().catch(() => undefined);
      await broker.close().catch(() => undefined);
    },
  };
  return e;
}

/** Polls fn until it returns something other than undefined/false (deadline only to end a broken run). */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
