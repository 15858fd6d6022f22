/** Where the end-to-end tests find Chromium, and how they start it. */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The service desk beeps on a new ticket; a real desk clicks once first, the test browser may play at once.
  '--autoplay-policy=no-user-gesture-required',
];
