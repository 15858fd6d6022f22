/**
 * Before the end-to-end suites: build the dashboard once when its sources changed since the last build (the hub serves
 * dashboard/dist). Skipped when Chromium is missing, since the suites then skip too.
 */
import { buildDashboard } from '../../dashboard/build.ts';
import { CHROMIUM, HAS_CHROMIUM } from './chromium.ts';

export default async function setup(): Promise<void> {
  if (!HAS_CHROMIUM) {
    console.warn(`e2e: ${CHROMIUM} not found; the browser tests are skipped (apt-get install chromium)`);
    return;
  }
  const r = await buildDashboard({ ifStale: true, quiet: true });
  if (r === 'no-vite') throw new Error('e2e: Vite is not installed; run npm ci');
}
