import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { precompress } from '../dashboard/build.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';

let t: TestHub;
let dir: string;
const script = `export const x = ${JSON.stringify('heat '.repeat(2000))};\n`;
const page = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body>${'<div></div>'.repeat(200)}</body></html>`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-static-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), page);
  writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), script);
  writeFileSync(path.join(dir, 'assets', 'tiny-def456.js'), 'export {};\n');
  expect(precompress(dir)).toBe(2);
  t = await startTestHub({ staticDir: dir });
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard files', () => {
  it('sends the compressed copy the browser accepts, and the file itself to one that accepts none', async () => {
    const url = '/assets/index-abc123.js';
    const gz = await t.hub.app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(gz.statusCode).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['vary']).toMatch(/accept-encoding/i);
    expect(gz.rawPayload.length).toBeLessThan(script.length / 5);
    expect(gunzipSync(gz.rawPayload).toString()).toBe(script);

    const br = await t.hub.app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(script);

    const plain = await t.hub.app.inject({ url, headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(script);

    // Too small to be worth compressing: sent as it is.
    const tiny = await t.hub.app.inject({ url: '/assets/tiny-def456.js', headers: { 'accept-encoding': 'gzip' } });
    expect(tiny.statusCode).toBe(200);
    expect(tiny.headers['content-encoding']).toBeUndefined();
  });

  it('lets browsers keep hashed assets for good and ask for the page every time', async () => {
    const asset = await t.hub.app.inject({ url: '/assets/index-abc123.js' });
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const wall = await t.hub.app.inject({ url: '/wall', headers: { accept: 'text/html', 'accept-encoding': 'gzip' } });
    expect(wall.statusCode).toBe(200);
    expect(wall.headers['cache-control']).toBe('no-cache');
    const body = wall.headers['content-encoding'] === 'gzip' ? gunzipSync(wall.rawPayload).toString() : wall.body;
    expect(body).toBe(page);
  });
});
