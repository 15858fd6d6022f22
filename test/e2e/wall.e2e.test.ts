/**
 * The dispatch centre in a real browser: the wall display (opened with a display-token link) shows live values that
 * change and fits 1920×1080 without scrolling; a fault injected in a simulator shows up as an alarm on the wall and as
 * a new ticket on the service desk, with no reload; switching the language changes the labels.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM } from './chromium.ts';
import { eventually, startE2E, type E2E } from './harness.ts';

if (!HAS_CHROMIUM) console.warn('e2e: skipped, /usr/bin/chromium is missing (apt-get install chromium)');

describe.skipIf(!HAS_CHROMIUM)('wall display and service desk (Chromium)', () => {
  let e: E2E;
  let wall: Page;
  let desk: Page;

  beforeAll(async () => {
    e = await startE2E();
  }, 120_000);

  afterAll(async () => {
    await e?.close();
  });

  /** Every figure on the wall, as one string. */
  const figures = (p: Page) => p.locator('[data-kpi] [data-value]').allInnerTexts().then((xs) => xs.join(' | '));

  it('shows live values that change, laid out on one 1920×1080 screen', async () => {
    wall = await e.openWall();
    // Every substation reports: the heat-load tile says 12 of 12.
    await eventually('12 substations reporting', async () => (await wall.locator('[data-kpi="heat"]').innerText()).includes('12 of 12'));
    const first = await eventually('figures with values', async () => {
      const f = await figures(wall);
      return /\d/.test(f) && !f.includes('–') ? f : undefined;
    });
    const changed = await eventually('a figure to change', async () => {
      const f = await figures(wall);
      return f !== first ? f : undefined;
    });
    expect(changed).not.toBe(first);
    await expect(wall.locator('[data-test="live-status"]').innerText()).resolves.toContain('live');
    // Kiosk layout: nothing to scroll at 1920×1080.
    const size = await wall.evaluate<{ w: number; h: number }>('({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight })');
    expect(size).toEqual({ w: 1920, h: 1080 });
    await e.shot(wall, 'wall-live');
  });

  it('shows an injected fault as an alarm on the wall and a new ticket on the service desk, without a reload', async () => {
    desk = await e.loginAs('service', { width: 1600, height: 900 });
    await desk.goto('/service');
    await desk.locator('[data-test="ticket-table"]').waitFor();
    expect(await desk.locator('tr[data-ticket-asset="ss05"]').count()).toBe(0);
    // A reload would drop these marks.
    await wall.evaluate('window.__sameDocument = true');
    await desk.evaluate('window.__sameDocument = true');

    // The circulating pump of ss05 trips: the PLC raises its VFD fault bit, the hub's rule ss-pump-trip fires.
    e.sims.inject({ kind: 'pump_trip', target: 'ss05' });

    const chip = wall.locator('[data-test="alarm-strip"] [data-alarm-asset="ss05"][data-alarm-rule="ss-pump-trip"]');
    await chip.waitFor({ timeout: 60_000 });
    await expect(chip.innerText()).resolves.toContain('Critical');
    await expect(wall.locator('[data-kpi="alarms"] [data-priority="critical"] strong').innerText()).resolves.not.toBe('0');
    await e.shot(wall, 'wall-alarm');

    const row = desk.locator('tr[data-ticket-asset="ss05"][data-fresh="1"]');
    await row.waitFor({ timeout: 60_000 });
    await expect(row.innerText()).resolves.toContain('Circulating pump tripped');
    await expect(desk.locator('[data-test="new-count"]').innerText()).resolves.toContain('1 new');
    // The sound cue played (WebAudio) as well as the visual one.
    await expect(desk.locator('[data-test="new-count"]').getAttribute('data-beeps')).resolves.toBe('1');
    await e.shot(desk, 'service-new-ticket');

    // Neither page was reloaded: the alarm and the ticket came over the live socket.
    expect(await wall.evaluate('window.__sameDocument === true')).toBe(true);
    expect(await desk.evaluate('window.__sameDocument === true')).toBe(true);

    // The service desk works the ticket: open it, assign a person, start work; the history shows each step.
    await row.click();
    const detail = desk.locator('[data-test="ticket-detail"]');
    await detail.waitFor();
    await desk.fill('[data-test="assignee"]', 'Wang Wei');
    await desk.fill('[data-test="ticket-comment"]', 'crew on the way');
    await desk.click('[data-action="assign"]');
    await desk.click('[data-move="in_progress"]');
    await eventually('state in progress', async () => (await desk.locator('[data-test="ticket-state"]').innerText()) === 'In progress');
    await expect(desk.locator('[data-test="ticket-history"]').innerText()).resolves.toContain('crew on the way');
    await e.shot(desk, 'service-ticket-detail');
  });

  it('lets an operator acknowledge and shelve the alarm in the console; the wall drops it, the substation page shows the trip', async () => {
    const op = await e.loginAs('operator', { width: 1600, height: 900 });
    await op.goto('/alarms');
    const row = op.locator('tr[data-alarm-asset="ss05"][data-alarm-rule="ss-pump-trip"]');
    await row.waitFor();
    await row.locator('[data-action="ack"]').click();
    await eventually('acknowledged', async () => (await row.innerText()).includes('Acknowledged'));
    await row.locator('[data-action="shelve"]').click();
    const form = op.locator('[data-test="shelve-form"]');
    await form.locator('textarea[name="reason"]').fill('crew on site, pump being replaced');
    await form.locator('select[name="minutes"]').selectOption('240');
    await e.shot(op, 'alarms-shelve');
    await form.locator('button[type="submit"]').click();
    // Shelved: out of the list until "show shelved" is ticked, and off the wall's strip.
    await row.waitFor({ state: 'detached' });
    await op.locator('label:has-text("Show shelved") input').check();
    await expect(row.innerText()).resolves.toContain('shelved');
    await e.shot(op, 'alarms-console');
    await wall.locator('[data-test="alarm-strip"] [data-alarm-asset="ss05"]').waitFor({ state: 'detached' });

    await op.goto('/substations/ss05');
    await op.locator('[data-test="substation-name"]').waitFor();
    await eventually('live values on the diagram', async () => /\d/.test((await op.locator('[data-field="secondary_supply_temp_c"]').textContent()) ?? ''));
    await expect(op.locator('.pd').textContent()).resolves.toContain('VFD FAULT');
    await op.setViewportSize({ width: 1600, height: 1700 });
    // Charts redraw at most every two seconds: let the histogram and the trends take their data before the picture.
    await op.waitForTimeout(2500);
    await e.shot(op, 'substation');
  });

  it('switches the language of the labels, and remembers it', async () => {
    await expect(desk.locator('[data-nav="service"]').innerText()).resolves.toBe('Service desk');
    await desk.click('[data-lang="zh-CN"]');
    await expect(desk.locator('[data-nav="service"]').innerText()).resolves.toBe('客服工单');
    await expect(desk.locator('h1').innerText()).resolves.toBe('客服工单');
    await expect(desk.evaluate<string>('document.documentElement.lang')).resolves.toBe('zh-CN');
    await e.shot(desk, 'service-zh');

    // Remembered for the next page load of this browser.
    await desk.reload();
    await expect(desk.locator('[data-nav="alarms"]').innerText()).resolves.toBe('报警');

    // A kiosk in a Chinese browser shows the wall in Chinese from the start.
    const zhWall = await e.openWall({ locale: 'zh-CN' });
    await expect(zhWall.locator('[data-kpi="outdoor"] h2').innerText()).resolves.toBe('室外温度');
    await expect(zhWall.locator('.wall-head h1').innerText()).resolves.toContain('调度中心');
    await e.shot(zhWall, 'wall-zh');
  });
});
