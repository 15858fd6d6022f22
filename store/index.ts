/**
 * Builds the configured telemetry store.
 *
 * - `embedded`: one DuckDB directory under dataDir, no server.
 * - `influx`: InfluxDB 2.x behind the disk-backed store-and-forward buffer (store/buffer), so an outage of the
 *   database or of the link to it loses nothing. Measurement and tags come from the asset tree (docs/influxdb.md). The
 *   token is read only from the environment (INFLUX_TOKEN; config/load.ts refuses it in files).
 */
import path from 'node:path';
import type { HubConfig } from '../config/load.ts';
import { WarmgridError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { BufferedTelemetryStore } from './buffer/buffered-store.ts';
import { EmbeddedTelemetryStore } from './embedded/embedded-store.ts';
import { InfluxTelemetryStore } from './influx/influx-store.ts';
import { treePlaces } from './influx/line-protocol.ts';
import type { TelemetryStore } from './telemetry-store.ts';

export interface StoreDeps {
  log?: Logger;
}

export function createTelemetryStore(config: HubConfig, deps: StoreDeps = {}): TelemetryStore {
  const { store, dataDir } = config.hub;
  const log = deps.log;
  switch (store.kind) {
    case 'embedded':
      return new EmbeddedTelemetryStore({ dir: path.join(path.resolve(dataDir), 'telemetry'), retention: store.retention, ...(log ? { log } : {}) });
    case 'influx': {
      const influx = store.influx;
      if (!influx) throw new WarmgridError('CONFIG_INVALID', 'store.kind is influx but store.influx (url, org, bucket) is not set');
      if (!influx.token) throw new WarmgridError('CONFIG_INVALID', 'store.kind is influx but INFLUX_TOKEN is not set in the environment');
      const remote = new InfluxTelemetryStore({
        url: influx.url,
        org: influx.org,
        bucket: influx.bucket,
        token: influx.token,
        place: treePlaces(config.assets),
        timeoutMs: influx.timeoutMs,
        retries: influx.retries,
        ...(log ? { log: log.child({ component: 'influx' }) } : {}),
      });
      const b = store.buffer;
      return new BufferedTelemetryStore(remote, {
        dir: b.dir ? path.resolve(b.dir) : path.join(path.resolve(dataDir), 'buffer'),
        maxBytes: b.maxBytes,
        segmentBytes: Math.min(b.segmentBytes, b.maxBytes),
        directTimeoutMs: b.directTimeoutMs,
        replayMaxReadings: b.replayBatch,
        retryMaxMs: b.retryMaxMs,
        ...(log ? { log: log.child({ component: 'store-buffer' }) } : {}),
      });
    }
  }
}
