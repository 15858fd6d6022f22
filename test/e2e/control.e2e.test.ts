/**
 * The control page in a real browser: an engineer approves the advice of ss01 (writes enabled for it), confirms, and
 * the setpoint history shows the executed write; an operator sees the same page without the approve button.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM } from './chromium.ts';
import { eventually, startE2E, type E2E } from './harness.ts';

describe.skipIf(!HAS_CHROMIUM)('control page (Chromium)', () => {
  let e: E2E;

  beforeAll(async () => {
    e = await startE2E();
    // Advice needs the substation's outdoor temperature and setpoint, and room temperatures from its apartments.
    await eventually('ss01 polled and its apartments reporting', () => {
      const latest = e.t.hub.services.pipeline.latest('ss01');
      const rooms = e.t.hub.services.assets.descendants('ss01', 'apartment').filter((a) => e.t.hub.services.pipeline.latest(a.id)?.get('room_temp_c'));
      return latest?.get('supply_temp_setpoint_c')?.quality === 'good' && rooms.length > 100;
    });
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  });

  it('lets an engineer approve an advice and shows the write in the setpoint history', async () => {
    const page = await e.loginAs('engineer', { width: 1600, height: 1200 });
    await page.goto('/control?ss=ss01');
    await page.locator('[data-test="control-name"]').waitFor();
    await expect(page.locator('[data-test="writes-enabled"]').innerText()).resolves.toContain('writes enabled');

    await page.click('button:has-text("Compute now")');
    const recommended = await eventually('advice', async () => {
      const el = page.locator('[data-test="recommended"]');
      if ((await el.count()) === 0) return undefined;
      const text = await el.innerText();
      return /\d/.test(text) ? text : undefined;
    });
    const approve = page.locator('[data-action="approve"]');
    await expect(approve.isEnabled()).resolves.toBe(true);
    await approve.click();

    const dialog = page.locator('[data-test="confirm-dialog"]');
    await page.locator('[data-test="confirm-dialog"], [data-test="refused"]').first().waitFor();
    if ((await dialog.count()) === 0) {
      await e.shot(page, 'control-refused');
      throw new Error(`the write was refused: ${await page.locator('[data-test="refused"]').innerText()}`);
    }
    await expect(dialog.innerText()).resolves.toContain(recommended.replace(' °C', ''));
    await e.shot(page, 'control-confirm');
    await page.click('[data-action="confirm-write"]');

    const row = page.locator('[data-test="setpoint-history"] tr[data-write-status="executed"]').first();
    await row.waitFor({ timeout: 30_000 });
    await expect(row.getAttribute('data-advice')).resolves.toMatch(/^[0-9a-f-]{36}$/);
    await expect(row.innerText()).resolves.toContain('test-engineer');
    await e.shot(page, 'control-approved');

    // The PLC now holds the approved value (a float32 register).
    const written = await e.t.hub.services.control.writes({ asset: 'ss01', status: 'executed', limit: 1 });
    expect(e.sims.model.substationTags('ss01').supply_temp_setpoint_c).toBeCloseTo(written[0]!.newValue, 3);
  });

  it('shows an operator the advice and the history, without the approve button', async () => {
    const page = await e.loginAs('operator', { width: 1600, height: 1200 });
    await page.goto('/control?ss=ss01');
    await page.locator('[data-test="control-name"]').waitFor();
    await page.locator('[data-test="advice"]').waitFor();
    await page.locator('[data-test="setpoint-history"] tr[data-write-status="executed"]').first().waitFor();
    expect(await page.locator('[data-action="approve"]').count()).toBe(0);
    expect(await page.locator('[data-action="edit-setpoint"]').count()).toBe(0);
    expect(await page.locator('[data-action="toggle-auto"]').count()).toBe(0);
    await expect(page.locator('[data-test="read-only"]').innerText()).resolves.toContain('Only engineers');
    await e.shot(page, 'control-operator');
  });
});
