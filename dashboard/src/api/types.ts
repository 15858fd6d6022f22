/** Shapes of the hub's API answers the dashboard reads (the OpenAPI spec at /docs/json is the reference). */

export type Role = 'display' | 'operator' | 'engineer' | 'service' | 'admin';
export type Quality = 'good' | 'uncertain' | 'bad';
export type FieldValue = number | boolean | string;
/** A live value on the wire: [value, ts, quality]. */
export type Wire = [FieldValue, number, Quality];
export type AssetValues = Record<string, Record<string, Wire>>;

export interface Me {
  kind: string;
  id: string;
  name: string;
  roles: Role[];
}

export interface Asset {
  id: string;
  kind: string;
  name: string;
  parent: string | null;
  path: string[];
  childCount: number;
  attrs: Record<string, string | number | boolean>;
}

export interface AssetDetail {
  asset: Asset;
  children: Asset[];
  place: Record<string, string>;
}

export interface LatestAsset {
  lastTs: number | null;
  quality: Quality | null;
  fields: Record<string, { value: FieldValue; ts: number; quality: Quality }>;
}

export interface HistoryResponse {
  asset: string;
  bucket: string;
  aggregate: string;
  from: number;
  to: number;
  series: Record<string, [number, number][]>;
}

export type Bucket = 'raw' | '1m' | '15m' | '1h' | '1d';

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const CATEGORIES = ['leak', 'no_heat', 'comm_loss', 'equipment', 'theft', 'comfort'] as const;
export type Category = (typeof CATEGORIES)[number];
export const ALARM_STATES = ['unack', 'ack', 'rtn_unack', 'normal'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

export interface Alarm {
  id: string;
  ruleId: string;
  asset: string;
  assetName: string;
  assetKind: string;
  name: string;
  category: Category;
  cause: string;
  priority: Priority;
  level: string | null;
  state: AlarmState;
  value: FieldValue | null;
  activatedAt: number;
  ackedAt: number | null;
  ackedBy: string | null;
  clearedAt: number | null;
  closedAt: number | null;
  updatedAt: number;
  shelvedUntil: number | null;
  suppressedBy: string | null;
  outOfService: boolean;
  activations: number;
}

export interface AlarmEventRow {
  seq: number;
  ts: number;
  event: string;
  fromState: string;
  toState: string;
  priority: string;
  value: unknown;
  actor: string;
  actorName: string;
  comment: string;
}

/** Live event on topic "alarms": an alarm change, or a control hook (auto mode dropped). */
export interface AlarmLiveEvent {
  type: string;
  alarm?: Alarm;
  at?: number;
  actor?: string;
  comment?: string;
  annunciated?: boolean;
  asset?: string;
  priority?: Priority;
  message?: string;
}

export const TICKET_STATES = ['new', 'assigned', 'in_progress', 'resolved', 'closed', 'cancelled'] as const;
export type TicketState = (typeof TICKET_STATES)[number];
export const CALLBACK_RESULTS = ['satisfied', 'unsatisfied', 'unreachable'] as const;
export type CallbackResult = (typeof CALLBACK_RESULTS)[number];

export interface Ticket {
  id: number;
  asset: string;
  assetName: string;
  assetKind: string;
  cause: string;
  category: Category;
  priority: Priority;
  title: string;
  description: string;
  state: TicketState;
  team: string | null;
  teamName: string | null;
  assignee: string | null;
  origin: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  respondDueAt: number;
  resolveDueAt: number;
  respondedAt: number | null;
  resolvedAt: number | null;
  closedAt: number | null;
  callback: { result: CallbackResult; at: number; by: string; comment: string } | null;
  reopened: number;
  overdue: { respond: boolean; resolve: boolean };
}

export interface TicketHistoryRow {
  seq: number;
  ts: number;
  actor: string;
  actorName: string;
  action: string;
  fromState: string;
  toState: string;
  comment: string;
  detail: Record<string, unknown>;
}

export interface TicketDetail {
  ticket: Ticket;
  history: TicketHistoryRow[];
  alarms: { alarmId: string; ruleId: string; linkedAt: number; clearedAt: number | null }[];
  allowedMoves: TicketState[];
}

export interface TicketLiveEvent {
  type: 'ticket.created' | 'ticket.updated';
  change: string;
  ticket: Ticket;
}

export interface Team {
  id: string;
  name: string;
  areas: string[];
}

export interface IndoorStats {
  total: number;
  valid: number;
  excluded: Record<string, number>;
  meanC: number | null;
  quantile: number;
  quantileC: number | null;
  minC: number | null;
  maxC: number | null;
  shareBelowLow: number | null;
  shareAboveHigh: number | null;
  lowC: number;
  highC: number;
  coldestBuilding: { id: string; quantileC: number; valid: number } | null;
  outliers: { id: string; valueC: number }[];
}

export interface AdviceExplanation {
  outdoorC: number | null;
  outdoorSource: string | null;
  effectiveOutdoorC: number | null;
  forecast: { used: boolean; leadH: number; forwardMeanC: number | null; issuedTs: number | null; points: number };
  tauH: number;
  tauSource: string;
  curveC: number | null;
  curveShiftK: number;
  forecastTermK: number | null;
  feedbackTermK: number;
  feedback: { controlledC: number | null; targetC: number; errorK: number | null; pK: number; iK: number; frozen: string | null; bounded: string | null };
  indoor: IndoorStats;
  unclampedC: number | null;
  limits: { minC: number; maxC: number };
  boundBy: string[];
  flow: { mode: string; relFlow: number; pumpDpMpa: number | null };
  notes: string[];
}

export interface Advice {
  id: string;
  asset: string;
  ts: number;
  point: string;
  valid: boolean;
  recommendedC: number | null;
  currentSetpointC: number | null;
  measuredSupplyC: number | null;
  changeK: number | null;
  explanation: AdviceExplanation;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SetpointWrite {
  id: string;
  asset: string;
  point: string;
  mode: string;
  status: string;
  requestedAt: number;
  requestedBy: { id: string; name: string };
  oldValue: number | null;
  newValue: number;
  adviceId: string | null;
  reason: string;
  checks: Check[];
  expiresAt: number | null;
  confirmedAt: number | null;
  confirmedBy: string | null;
  readBack: number | null;
  result: Record<string, unknown>;
  updatedAt: number;
}

export interface Bounds {
  min: number;
  max: number;
  maxStep: number;
  maxRatePerH: number;
}

export interface ControlSubstation {
  asset: string;
  name: string;
  emitter: string;
  writesEnabled: boolean;
  writesEnabledSource: string;
  mode: 'manual' | 'auto' | string;
  writer: { available: boolean; points: { point: string; min?: number; max?: number; unit?: string }[] };
  curveSource: string;
  bounds: { manual: Bounds; auto: Bounds & { deadband: number } };
  tau: { tauH: number; source: string; buildings: { id: string; tauH: number; r2: number; samples: number }[] };
  feedbackIntegralK: number;
  lastAdvice: Advice | null;
}

export interface CurveResponse {
  curve: Record<string, unknown>;
  source: string;
  preset: Record<string, unknown>;
  limits: { minC: number; maxC: number };
  samples: { outdoorC: number; supplyC: number; returnC: number | null }[];
  danfossPoints: { outdoorC: number; supplyC: number }[];
}

export interface HealthComponent {
  status: string;
  [k: string]: unknown;
}

export interface Health {
  status: 'up' | 'degraded' | 'down';
  components: Record<string, HealthComponent>;
  [k: string]: unknown;
}
