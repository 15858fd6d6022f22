/**
 * Control API: advice, curves, setpoint writes (request → confirm), enablement and auto mode, forecasts.
 * Everyone with an account reads; only engineers change anything (ARCHITECTURE.md: "engineer (setpoints, curves)").
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WarmgridError } from '../../core/errors.ts';
import { CurveSpecSchema, type Actor, type ControlService } from '../../control/service.ts';
import { WRITE_STATUSES, type WriteStatus } from '../../control/store.ts';
import { VIEW, type Role } from '../roles.ts';
import { AssetId, TimeParam, parseTime } from '../schemas.ts';

/** Who may change control settings and write setpoints. */
export const ENGINEER: readonly Role[] = ['engineer'];

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Id = Type.Object({ id: AssetId });
const WriteId = Type.Object({ writeId: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }) });
const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Why: kept in the audit log' });
const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 });
const StatusSchema = Type.Union(WRITE_STATUSES.map((s) => Type.Literal(s)));

const Bounds = Type.Object({ min: Type.Number(), max: Type.Number(), maxStep: Type.Number(), maxRatePerH: Type.Number() });
const CheckOut = Type.Object({ name: Type.String(), ok: Type.Boolean(), detail: Type.String() });

const AdviceOut = Type.Object({
  id: Type.String(),
  asset: Type.String(),
  ts: Type.Integer(),
  point: Type.String(),
  valid: Type.Boolean(),
  recommendedC: Nullable(Type.Number()),
  currentSetpointC: Nullable(Type.Number()),
  measuredSupplyC: Nullable(Type.Number()),
  changeK: Nullable(Type.Number()),
  explanation: Type.Unknown({
    description:
      'Every term of the advice: outdoorC, outdoorSource, effectiveOutdoorC, forecast {used, leadH, forwardMeanC, issuedTs, points}, tauH, tauSource, curveC, curveShiftK, forecastTermK, feedbackTermK, feedback {controlledC, targetC, errorK, pK, iK, frozen, bounded}, indoor (statistics), unclampedC, limits, boundBy, flow {mode, relFlow, pumpDpMpa}, notes (docs/control.md)',
  }),
});

const WriteOut = Type.Object({
  id: Type.String(),
  asset: Type.String(),
  point: Type.String(),
  mode: Type.String(),
  status: Type.String(),
  requestedAt: Type.Integer(),
  requestedBy: Type.Object({ id: Type.String(), name: Type.String() }),
  oldValue: Nullable(Type.Number()),
  newValue: Type.Number(),
  adviceId: Nullable(Type.String()),
  reason: Type.String(),
  checks: Type.Array(CheckOut),
  expiresAt: Nullable(Type.Integer()),
  confirmedAt: Nullable(Type.Integer()),
  confirmedBy: Nullable(Type.String()),
  readBack: Nullable(Type.Number()),
  result: Type.Record(Type.String(), Type.Unknown()),
  updatedAt: Type.Integer(),
});

const SubstationOut = Type.Object({
  asset: Type.String(),
  name: Type.String(),
  emitter: Type.String(),
  writesEnabled: Type.Boolean(),
  writesEnabledSource: Type.String(),
  mode: Type.String(),
  writer: Type.Object({ available: Type.Boolean(), points: Type.Array(Type.Object({ point: Type.String(), min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()), unit: Type.Optional(Type.String()) })) }),
  curveSource: Type.String(),
  bounds: Type.Object({ manual: Bounds, auto: Type.Intersect([Bounds, Type.Object({ deadband: Type.Number() })]) }),
  tau: Type.Object({ tauH: Type.Number(), source: Type.String(), buildings: Type.Array(Type.Object({ id: Type.String(), tauH: Type.Number(), r2: Type.Number(), samples: Type.Integer() })) }),
  feedbackIntegralK: Type.Number(),
  lastAdvice: Nullable(AdviceOut),
});

const QuantityOut = Type.Object({
  total: Nullable(Type.Number()),
  sd: Nullable(Type.Number()),
  residualSd: Nullable(Type.Number()),
  weatherSd: Nullable(Type.Number()),
  unit: Type.String(),
  hourly: Type.Array(Type.Object({ leadH: Type.Number(), value: Type.Number() })),
  fit: Nullable(Type.Object({ intercept: Type.Number(), slope: Type.Number(), n: Type.Integer(), r2: Type.Number(), residualSd: Type.Number() })),
  note: Nullable(Type.String()),
});
const Quantities = Type.Object({ heat: QuantityOut, makeup: QuantityOut, electricity: QuantityOut });
const Total = Type.Object({ total: Type.Number(), sd: Type.Number(), unit: Type.String(), substations: Type.Integer() });

function actorOf(req: FastifyRequest): Actor {
  const p = req.principal!;
  return { id: p.kind === 'token' ? `token:${p.id}` : p.id, name: p.name, roles: p.roles, ip: req.ip };
}

function timeOf(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = parseTime(v);
  if (!Number.isFinite(t)) throw new WarmgridError('BAD_REQUEST', 'invalid time');
  return t;
}

export function controlRoutes(app: FastifyInstance, control: ControlService): void {
  const tags = ['control'];

  app.get(
    '/api/control/substations',
    { config: { access: VIEW }, schema: { tags, summary: 'Every substation: writes enabled, mode, writer, bounds, learned time constant, latest advice', response: { 200: Type.Object({ substations: Type.Array(SubstationOut) }) } } },
    async () => ({ substations: control.substations() }),
  );

  app.get(
    '/api/control/substations/:id',
    { config: { access: VIEW }, schema: { tags, summary: 'One substation’s control state', params: Id, response: { 200: Type.Object({ substation: SubstationOut }) } } },
    async (req) => ({ substation: control.view((req.params as { id: string }).id) }),
  );

  app.get(
    '/api/control/substations/:id/advice',
    {
      config: { access: VIEW },
      schema: {
        tags,
        summary: 'Advice history of a substation, newest first',
        params: Id,
        querystring: Type.Object({ from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), limit: Limit }, { additionalProperties: false }),
        response: { 200: Type.Object({ advice: Type.Array(AdviceOut) }) },
      },
    },
    async (req) => {
      const q = req.query as { from?: number | string; to?: number | string; limit: number };
      const from = timeOf(q.from);
      const to = timeOf(q.to);
      return { advice: await control.adviceHistory((req.params as { id: string }).id, { limit: q.limit, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }) };
    },
  );

  app.post(
    '/api/control/substations/:id/advice',
    {
      config: { access: ENGINEER },
      schema: { tags, summary: 'Compute advice now (it is also computed every control.adviceIntervalMin)', params: Id, body: Type.Optional(Type.Object({}, { additionalProperties: false })), response: { 200: Type.Object({ advice: AdviceOut }) } },
    },
    async (req) => {
      const [advice] = await control.runAdvice((req.params as { id: string }).id);
      return { advice: advice! };
    },
  );

  app.get(
    '/api/control/substations/:id/curve',
    {
      config: { access: VIEW },
      schema: {
        tags,
        summary: 'The heating curve in use, the preset, the emitter limits, the curve sampled for a chart, and its Danfoss six points',
        params: Id,
        response: {
          200: Type.Object({
            curve: Type.Unknown(),
            source: Type.String(),
            preset: Type.Unknown(),
            limits: Type.Object({ minC: Type.Number(), maxC: Type.Number() }),
            samples: Type.Array(Type.Object({ outdoorC: Type.Number(), supplyC: Type.Number(), returnC: Nullable(Type.Number()) })),
            danfossPoints: Type.Array(Type.Object({ outdoorC: Type.Number(), supplyC: Type.Number() })),
          }),
        },
      },
    },
    async (req) => control.curve((req.params as { id: string }).id),
  );

  app.put(
    '/api/control/substations/:id/curve',
    {
      config: { access: ENGINEER },
      schema: {
        tags,
        summary: 'Set the heating curve (law, points or gradient; null returns to the preset). Audited.',
        params: Id,
        body: Type.Object({ curve: Nullable(CurveSpecSchema), reason: Reason }, { additionalProperties: false }),
        response: { 200: Type.Object({ curve: Type.Unknown() }) },
      },
    },
    async (req) => {
      const b = req.body as { curve: unknown; reason: string };
      return { curve: await control.putCurve((req.params as { id: string }).id, b.curve, actorOf(req), b.reason) };
    },
  );

  app.put(
    '/api/control/substations/:id/writes-enabled',
    {
      config: { access: ENGINEER },
      schema: {
        tags,
        summary: 'Enable or disable setpoint writes to a substation (off by default). Disabling also ends auto mode. Audited.',
        params: Id,
        body: Type.Object({ enabled: Type.Boolean(), reason: Reason }, { additionalProperties: false }),
        response: { 200: Type.Object({ substation: SubstationOut }) },
      },
    },
    async (req) => {
      const b = req.body as { enabled: boolean; reason: string };
      return { substation: await control.setWritesEnabled((req.params as { id: string }).id, b.enabled, actorOf(req), b.reason) };
    },
  );

  app.put(
    '/api/control/substations/:id/mode',
    {
      config: { access: ENGINEER },
      schema: {
        tags,
        summary: 'Switch auto mode on or off. Auto needs writes enabled and healthy readings; it drops back to manual with an alarm when they go bad. Audited.',
        params: Id,
        body: Type.Object({ mode: Type.Union([Type.Literal('manual'), Type.Literal('auto')]), reason: Reason }, { additionalProperties: false }),
        response: { 200: Type.Object({ substation: SubstationOut }) },
      },
    },
    async (req) => {
      const b = req.body as { mode: 'manual' | 'auto'; reason: string };
      return { substation: await control.setMode((req.params as { id: string }).id, b.mode, actorOf(req), b.reason) };
    },
  );

  app.get(
    '/api/control/substations/:id/setpoints',
    {
      config: { access: VIEW },
      schema: {
        tags,
        summary: 'Setpoint write history of a substation (requests, refusals, results), newest first',
        params: Id,
        querystring: Type.Object({ status: Type.Optional(StatusSchema), from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), limit: Limit }, { additionalProperties: false }),
        response: { 200: Type.Object({ writes: Type.Array(WriteOut) }) },
      },
    },
    async (req) => {
      const q = req.query as { status?: WriteStatus; from?: number | string; to?: number | string; limit: number };
      const from = timeOf(q.from);
      const to = timeOf(q.to);
      return { writes: await control.writes({ asset: (req.params as { id: string }).id, limit: q.limit, ...(q.status ? { status: q.status } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }) };
    },
  );

  app.post(
    '/api/control/substations/:id/writes',
    {
      config: { access: ENGINEER },
      schema: {
        tags,
        summary: 'Request a setpoint write: approve an advice (adviceId) or enter a value with a reason. Runs every guard; answers a pending write and a confirmation token, or 409 WRITE_REFUSED with the failed checks. Nothing is written until confirmed.',
        params: Id,
        body: Type.Object(
          {
            point: Type.Optional(Type.Union([Type.Literal('supply_temp_setpoint_c'), Type.Literal('pump_dp_setpoint_mpa')])),
            value: Type.Optional(Type.Number()),
            adviceId: Type.Optional(Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })),
            reason: Type.Optional(Reason),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ write: WriteOut, confirmToken: Type.String() }) },
      },
    },
    async (req, reply) => {
      const b = req.body as { point?: string; value?: number; adviceId?: string; reason?: string };
      const out = await control.requestWrite((req.params as { id: string }).id, b, actorOf(req));
      void reply.status(201);
      return out;
    },
  );

  app.get(
    '/api/control/writes',
    {
      config: { access: VIEW },
      schema: {
        tags,
        summary: 'Setpoint writes of every substation, newest first (e.g. status=pending)',
        querystring: Type.Object({ status: Type.Optional(StatusSchema), from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), limit: Limit }, { additionalProperties: false }),
        response: { 200: Type.Object({ writes: Type.Array(WriteOut) }) },
      },
    },
    async (req) => {
      const q = req.query as { status?: WriteStatus; from?: number | string; to?: number | string; limit: number };
      const from = timeOf(q.from);
      const to = timeOf(q.to);
      return { writes: await control.writes({ limit: q.limit, ...(q.status ? { status: q.status } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }) };
    },
  );

  app.get(
    '/api/control/writes/:writeId',
    { config: { access: VIEW }, schema: { tags, summary: 'One setpoint write', params: WriteId, response: { 200: Type.Object({ write: WriteOut }) } } },
    async (req) => ({ write: await control.write((req.params as { writeId: string }).writeId) }),
  );

  app.post(
    '/api/control/writes/:writeId/confirm',
    {
      config: { access: ENGINEER },
      schema: {
        tags,
        summary: 'Confirm a pending write with its token (the requester only). The guards run again; then the write, the read-back and the audit. 502 WRITE_FAILED when the device did not take it (rolled back where possible).',
        params: WriteId,
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ write: WriteOut }) },
      },
    },
    async (req) => ({ write: await control.confirmWrite((req.params as { writeId: string }).writeId, (req.body as { token: string }).token, actorOf(req)) }),
  );

  app.post(
    '/api/control/writes/:writeId/cancel',
    {
      config: { access: ENGINEER },
      schema: { tags, summary: 'Cancel a pending write', params: WriteId, body: Type.Optional(Type.Object({}, { additionalProperties: false })), response: { 200: Type.Object({ write: WriteOut }) } },
    },
    async (req) => ({ write: await control.cancelWrite((req.params as { writeId: string }).writeId, actorOf(req)) }),
  );

  app.get(
    '/api/control/forecast',
    {
      config: { access: VIEW },
      schema: {
        tags,
        summary: '24 h forecast of heat, make-up water and electricity for the network and each substation, with one standard deviation',
        response: { 200: Type.Object({ generatedAt: Type.Integer(), horizonH: Type.Integer(), totals: Type.Object({ heat: Total, makeup: Total, electricity: Total }), substations: Type.Array(Type.Object({ asset: Type.String(), horizonH: Type.Integer(), quantities: Quantities })) }) },
      },
    },
    async () => control.networkForecast(),
  );

  app.get(
    '/api/control/substations/:id/forecast',
    {
      config: { access: VIEW },
      schema: {
        tags,
        summary: '24 h forecast of heat, make-up water and electricity for one substation, with the regression and the outdoor forecast it used',
        params: Id,
        response: {
          200: Type.Object({
            asset: Type.String(),
            horizonH: Type.Integer(),
            quantities: Quantities,
            outdoor: Type.Object({ source: Type.String(), issuedTs: Nullable(Type.Integer()), hourly: Type.Array(Type.Object({ leadH: Type.Number(), tempC: Type.Number() })) }),
          }),
        },
      },
    },
    async (req) => control.loadForecast((req.params as { id: string }).id),
  );
}
