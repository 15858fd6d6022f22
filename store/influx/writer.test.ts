/**
 * The write path against a bare HTTP server that answers as InfluxDB does: request shape (path, token, gzip,
 * chunking), which failures are retried and how often, and the errors callers see.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WarmgridError } from '../../core/errors.ts';
import type { Reading } from '../../ingest/reading.ts';
import { freePort } from './victoria-metrics.ts';
import { InfluxTelemetryStore } from './influx-store.ts';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const T = Date.UTC(2026, 0, 15);
const batch = (n: number): Reading[] => Array.from({ length: n }, (_, i) => ({ asset: `a${i}`, ts: T + i, fields: { x: i }, quality: 'good', source: 't:t' }));

describe('InfluxDB write path', () => {
  let server: http.Server;
  let url: string;
  let seen: Seen[];
  let answers: { status: number; body?: string; headers?: Record<string, string> }[];
  let store: InfluxTelemetryStore;

  beforeEach(async () => {
    seen = [];
    answers = [];
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        seen.push({ url: req.url ?? '', headers: req.headers, body });
        const a = answers.shift() ?? { status: 204 };
        res.writeHead(a.status, { ...(a.body ? { 'content-type': 'application/json' } : {}), ...a.headers });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    store = new InfluxTelemetryStore({ url, org: 'my org', bucket: 'tele', token: 's3cret', checkOnOpen: false, retries: 2, retryBaseMs: 1, maxLinesPerRequest: 5 });
    await store.open();
  });

  afterEach(async () => {
    await store.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends gzip-compressed line protocol in ordered requests of bounded size, with the token', async () => {
    await store.write(batch(12));
    expect(seen).toHaveLength(3);
    for (const s of seen) {
      expect(s.url).toBe('/api/v2/write?org=my%20org&bucket=tele&precision=ms');
      expect(s.headers['authorization']).toBe('Token s3cret');
      expect(s.headers['content-encoding']).toBe('gzip');
    }
    const lines = seen.flatMap((s) => s.body.split('\n'));
    expect(lines).toEqual(batch(12).map((r, i) => `asset,asset=a${i},quality=good x=${i} ${r.ts}`));
    expect(store.stats()).toMatchObject({ rowsWritten: 12, batchesWritten: 1, requests: 3, writeErrors: 0, pending: 0 });
  });

  it.each([
    [401, 'auth', /HTTP 401.*INFLUX_TOKEN/],
    [403, 'auth', /HTTP 403.*INFLUX_TOKEN/],
    [404, 'not_found', /HTTP 404.*bucket "tele" not found.*INFLUX_ORG and INFLUX_BUCKET/],
    [400, 'data', /HTTP 400/],
    [413, 'data', /HTTP 413/],
    [422, 'data', /HTTP 422.*field type conflict/],
  ])('HTTP %i is not retried and says why (%s)', async (status, reason, message) => {
    const body = status === 404 ? '{"code":"not found","message":"bucket \\"tele\\" not found"}' : status === 422 ? '{"code":"unprocessable entity","message":"failure writing points to database: partial write: field type conflict"}' : '';
    answers.push({ status, body });
    const err = await store.write(batch(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WarmgridError);
    expect(err).toMatchObject({ code: 'STORE_WRITE_FAILED', retryable: false, details: { reason, httpStatus: status } });
    expect((err as Error).message).toMatch(message);
    expect(seen).toHaveLength(1);
    expect(store.stats().writeErrors).toBe(1);
    // Refused credentials or a missing bucket stop every write; a refused batch does not.
    expect(await store.health()).toMatchObject({ status: reason === 'data' ? 'degraded' : 'down', httpStatus: status });
  });

  it('retries 5xx and 429 a bounded number of times, then reports the store unavailable', async () => {
    answers.push({ status: 503 }, { status: 503 }, { status: 503 });
    const err = await store.write(batch(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true, details: { reason: 'unavailable', httpStatus: 503 } });
    expect(seen).toHaveLength(3);
    seen = [];
    answers.push({ status: 429 }, { status: 500 });
    await store.write(batch(1));
    expect(seen).toHaveLength(3);
  });

  it('reports a server that is not there as unavailable, and health as down', async () => {
    const gone = new InfluxTelemetryStore({ url: `http://127.0.0.1:${await freePort()}`, org: 'o', bucket: 'b', token: 't', retries: 1, retryBaseMs: 1 });
    await gone.open(); // unreachable at open is not an error: the buffer covers it
    const err = await gone.write(batch(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true, details: { reason: 'unavailable' } });
    expect((err as Error).message).toMatch(/unreachable.*ECONNREFUSED/);
    expect(await gone.health()).toMatchObject({ status: 'down' });
    await gone.close();
  });

  it('checks token and bucket at open', async () => {
    const check = (status: number, body: string) => {
      answers.push({ status, body });
      return new InfluxTelemetryStore({ url, org: 'o', bucket: 'tele', token: 't' });
    };
    await expect(check(401, '{"code":"unauthorized","message":"unauthorized access"}').open()).rejects.toThrow(/HTTP 401: unauthorized access \(check INFLUX_TOKEN/);
    await expect(check(200, '{"buckets":[]}').open()).rejects.toThrow('has no bucket "tele" in organisation "o"');
    await expect(check(404, '{"code":"not found","message":"organization name \\"o\\" not found"}').open()).rejects.toThrow(/HTTP 404: organization name "o" not found/);
    const ok = check(200, '{"buckets":[{"name":"tele"}]}');
    await ok.open();
    expect(seen.at(-1)?.url).toBe('/api/v2/buckets?name=tele&org=o');
    expect(await ok.health()).toMatchObject({ status: 'up' });
    expect(() => new InfluxTelemetryStore({ url, org: 'o', bucket: 'b', token: '' })).toThrow('set INFLUX_TOKEN');
  });
});
