/**
 * The TelemetryStore contract suite against a real InfluxDB 2, on its own and behind the store-and-forward buffer.
 * Runs when INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET are set (docs/deployment.md shows how with
 * docker-compose); each test gets a fresh bucket named `<INFLUX_BUCKET>-contract-<id>`, deleted at the end, so the
 * token must be allowed to create and delete buckets (the operator token of a new InfluxDB is).
 */
import path from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { afterAll, describe, it } from 'vitest';
import { describeTelemetryStoreContract } from '../contract.ts';
import { BufferedTelemetryStore } from '../buffer/buffered-store.ts';
import { InfluxTelemetryStore } from './influx-store.ts';
import { flatPlaces } from './line-protocol.ts';

const env = {
  url: process.env['INFLUX_URL'] ?? '',
  token: process.env['INFLUX_TOKEN'] ?? '',
  org: process.env['INFLUX_ORG'] ?? '',
  bucket: process.env['INFLUX_BUCKET'] ?? '',
};
const configured = env.url !== '' && env.token !== '' && env.org !== '' && env.bucket !== '';

if (!configured) {
  console.warn('InfluxDB contract suite skipped: set INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET to run it (docs/deployment.md)');
  describe.skip('TelemetryStore contract: influx — skipped: set INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG and INFLUX_BUCKET to run it against a real InfluxDB 2 (docs/deployment.md)', () => {
    it('runs the contract suite against InfluxDB', () => undefined);
  });
} else {
  const admin = new InfluxDB({ url: env.url, token: env.token }).transport;
  const created = new Map<string, string>();
  let orgID: Promise<string> | null = null;

  const orgId = (): Promise<string> =>
    (orgID ??= admin.request(`/api/v2/orgs?org=${encodeURIComponent(env.org)}`, '', { method: 'GET' }).then((r: { orgs?: { id: string }[] }) => {
      const id = r.orgs?.[0]?.id;
      if (!id) throw new Error(`no organisation "${env.org}" on ${env.url}`);
      return id;
    }));

  /** The bucket of a test directory, created on first use (a reopen uses the same one). */
  async function bucketFor(dir: string): Promise<string> {
    const name = `${env.bucket}-contract-${path.basename(dir).replace(/[^A-Za-z0-9_-]/g, '')}`;
    if (created.has(name)) return name;
    const id = await orgId();
    const found = (await admin.request(`/api/v2/buckets?orgID=${id}&name=${encodeURIComponent(name)}`, '', { method: 'GET' })) as { buckets?: { id: string }[] };
    const existing = found.buckets?.[0]?.id;
    const bucketId = existing ?? ((await admin.request('/api/v2/buckets', { orgID: id, name, retentionRules: [] }, { method: 'POST' })) as { id: string }).id;
    created.set(name, bucketId);
    return name;
  }

  afterAll(async () => {
    for (const id of created.values()) await admin.request(`/api/v2/buckets/${id}`, '', { method: 'DELETE' }).catch(() => undefined);
  });

  const influx = async (dir: string): Promise<InfluxTelemetryStore> =>
    new InfluxTelemetryStore({ url: env.url, token: env.token, org: env.org, bucket: await bucketFor(dir), place: flatPlaces('substation') });

  describeTelemetryStoreContract('influx', influx);
  describeTelemetryStoreContract('influx behind the store-and-forward buffer', async (dir) => new BufferedTelemetryStore(await influx(dir), { dir: path.join(dir, 'buffer') }));
}
