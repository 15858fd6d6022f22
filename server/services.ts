/** What the HTTP layer is given: built by server/hub.ts, or by a test with real parts. */
import type { Alarms } from '../alarms/service.ts';
import type { AssetTree } from '../config/asset-tree.ts';
import type { HubConfig } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import type { Metrics } from '../core/metrics.ts';
import type { LiveBus } from '../ingest/live-bus.ts';
import type { Pipeline } from '../ingest/pipeline.ts';
import type { SetpointWriters, Source } from '../ingest/source.ts';
import type { ControlService } from '../control/service.ts';
import type { AuditLog } from '../state/audit.ts';
import type { StateDbHandle } from '../state/db.ts';
import type { ComponentHealth, TelemetryStore } from '../store/telemetry-store.ts';
import type { Tickets } from '../tickets/index.ts';
import type { AuthService } from './auth/auth-service.ts';

export interface HubServices {
  config: HubConfig;
  assets: AssetTree;
  store: TelemetryStore;
  pipeline: Pipeline;
  bus: LiveBus;
  metrics: Metrics;
  clock: Clock;
  sources: readonly Source[];
  /** Setpoint writers among the sources, by asset (control writes only through these). */
  writers: SetpointWriters;
  /** Extra components reported by /api/health (e.g. the embedded broker). */
  components?: Map<string, () => ComponentHealth>;
  startedAt: number;
  state: StateDbHandle;
  auth: AuthService;
  audit: AuditLog;
  /** Key that signs session cookies. */
  sessionSecret: string;
  /** Alarm engine, rules and KPIs (alarms/service.ts). */
  alarms: Alarms;
  /** Tickets and webhooks (tickets/index.ts). */
  tickets: Tickets;
  /** Regulation advice and guarded setpoint writes (control/service.ts). */
  control: ControlService;
}
