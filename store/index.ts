/** Builds the configured telemetry store. */
import path from 'node:path';
import type { HubConfig } from '../config/load.ts';
import { WarmgridError } from '../core/errors.ts';
import { EmbeddedTelemetryStore } from './embedded/embedded-store.ts';
import type { TelemetryStore } from './telemetry-store.ts';

export function createTelemetryStore(config: HubConfig): TelemetryStore {
  const { store, dataDir } = config.hub;
  switch (store.kind) {
    case 'embedded':
      return new EmbeddedTelemetryStore({ dir: path.join(path.resolve(dataDir), 'telemetry'), retention: store.retention });
    case 'influx':
      throw new WarmgridError('CONFIG_INVALID', 'the InfluxDB store is not available in this build; use store.kind: embedded');
  }
}
