/**
 * Runtime statistics as Prometheus metrics, one registry per hub instance (tests build many hubs in one process).
 * Per-message counts are metrics, never log lines.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  readingsIn: Counter<'source'>;
  readingsRejected: Counter<'reason'>;
  fieldsRejected: Counter<'reason'>;
  fieldsDeadband: Counter;
  storeRows: Counter;
  storeWriteSeconds: Histogram;
  storeWriteErrors: Counter;
  queueDepth: Gauge;
  wsClients: Gauge;
  wsMessages: Counter;
  wsSkippedFlushes: Counter;
  wsDropped: Counter<'reason'>;
  httpErrors: Counter<'code'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'warmgrid_process_' });
  const registers = [registry];
  return {
    registry,
    readingsIn: new Counter({ name: 'warmgrid_readings_in_total', help: 'Readings accepted by the pipeline', labelNames: ['source'], registers }),
    readingsRejected: new Counter({ name: 'warmgrid_readings_rejected_total', help: 'Readings or payloads rejected, by reason', labelNames: ['reason'], registers }),
    fieldsRejected: new Counter({ name: 'warmgrid_fields_rejected_total', help: 'Single fields rejected from otherwise valid readings, by reason', labelNames: ['reason'], registers }),
    fieldsDeadband: new Counter({ name: 'warmgrid_fields_deadband_total', help: 'Fields not stored because the change was inside the deadband', registers }),
    storeRows: new Counter({ name: 'warmgrid_store_readings_total', help: 'Readings made durable by the telemetry store', registers }),
    storeWriteSeconds: new Histogram({
      name: 'warmgrid_store_write_seconds',
      help: 'Latency of one batch write to the telemetry store',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    storeWriteErrors: new Counter({ name: 'warmgrid_store_write_errors_total', help: 'Failed batch writes (each is retried)', registers }),
    queueDepth: new Gauge({ name: 'warmgrid_pipeline_queue_depth', help: 'Readings waiting to be made durable', registers }),
    wsClients: new Gauge({ name: 'warmgrid_ws_clients', help: 'Connected live-feed WebSocket clients', registers }),
    wsMessages: new Counter({ name: 'warmgrid_ws_messages_total', help: 'Live-feed messages sent', registers }),
    wsSkippedFlushes: new Counter({ name: 'warmgrid_ws_skipped_flushes_total', help: 'Flushes skipped because a client was behind (it gets coalesced values later)', registers }),
    wsDropped: new Counter({ name: 'warmgrid_ws_dropped_total', help: 'Live-feed clients disconnected by the server', labelNames: ['reason'], registers }),
    httpErrors: new Counter({ name: 'warmgrid_http_errors_total', help: 'HTTP error responses by error code', labelNames: ['code'], registers }),
  };
}
