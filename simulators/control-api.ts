/**
 * The simulator's HTTP control API (Fastify): inject and clear faults, change the time scale, read what the simulated
 * plant is doing. A test and demo tool: it has no authentication and binds to 127.0.0.1; never expose it to a network.
 *
 *   GET    /health                  model, clock and faces at a glance
 *   GET    /faults                  active faults (model and face)
 *   POST   /faults                  body: a model FaultSpec ({ kind: 'leak', target: 'ss03' }) or a face fault
 *                                   ({ kind: 'garbage_flood', ratePerS: 50, durationS: 10 }) → 201 { id }
 *   DELETE /faults/:id              → 204, or 404
 *   DELETE /faults                  → 200 { cleared }
 *   GET    /time, POST /time        { scale?, advanceS? } → the clock
 *   GET    /substations             ids;  GET /substations/:id   tags and flags
 *   GET    /apartments/:id          published values, flags and ground truth
 *   GET    /weather                 true weather, each station's readings and the forecast
 *
 * Errors: `{ error: { code, message } }` with 400 for a bad request or a fault spec that does not fit (the model's
 * ModelError codes: UNKNOWN_TARGET, BAD_FAULT, UNKNOWN_TAG), 404 for an unknown id, 409 for a face fault whose face
 * is not running.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { FaultSpec } from './model/index.ts';
import { GARBAGE_KINDS, type MqttFaceFaultSpec } from './faces/mqtt/index.ts';
import type { Simulators } from './runtime.ts';

const Target = Type.String({ minLength: 1, maxLength: 200, description: 'Asset id (substation, building, apartment, heat source, weather station, company)' });
const Tag = Type.String({ minLength: 1, maxLength: 100, description: 'Tag or field name, e.g. secondary_supply_temp_c or room_temp_c' });
const Fraction = Type.Number({ minimum: 0, maximum: 1 });

function fault<K extends string, P extends Record<string, TSchema>>(kind: K, props: P, description: string) {
  return Type.Object({ kind: Type.Literal(kind), target: Target, ...props }, { additionalProperties: false, description });
}

/** One schema per fault kind: the model's FaultSpec (simulators/model/faults.ts) and the MQTT face's faults. */
export const FAULT_SCHEMAS = {
  leak: fault('leak', { rateM3h: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) }, 'Secondary leak at a substation'),
  pump_trip: fault('pump_trip', {}, 'Circulating pump trips (VFD fault)'),
  stuck_valve: fault('stuck_valve', { positionPct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })) }, 'Primary valve stuck'),
  meter_fault: fault('meter_fault', {}, 'Heat meter energy register stops'),
  local_mode: fault('local_mode', {}, 'Substation panel in local: remote writes refused'),
  supply_drop: fault('supply_drop', { dropK: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })), trip: Type.Optional(Type.Boolean()) }, 'Heat source supply falls'),
  blocked_branch: fault('blocked_branch', { factor: Type.Optional(Fraction) }, "A building's flow throttled"),
  cold_apartment: fault('cold_apartment', { factor: Type.Optional(Fraction) }, 'Air lock: emitter output × factor'),
  stolen_heat: fault('stolen_heat', { opening: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })) }, 'Heat theft at a suspended account'),
  window_open: fault('window_open', {}, 'Window held open'),
  cold_snap: fault('cold_snap', { depthK: Type.Number({ exclusiveMinimum: 0, maximum: 40 }), durationH: Type.Number({ minimum: 0, maximum: 720 }), startMs: Type.Optional(Type.Number()) }, 'Cold snap'),
  sensor_stuck: fault('sensor_stuck', { tag: Tag, value: Type.Optional(Type.Number()) }, 'Sensor frozen'),
  sensor_drift: fault('sensor_drift', { tag: Tag, ratePerH: Type.Number() }, 'Sensor drifts'),
  sensor_dead: fault('sensor_dead', { tag: Tag, value: Type.Optional(Type.Number()) }, 'Sensor dead (NaN, or a sentinel such as 0 or 185)'),
  spike: fault('spike', { tag: Tag, magnitude: Type.Optional(Type.Number()), ratePerH: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) }, 'Random spikes'),
  comm_loss: fault('comm_loss', {}, 'Device (and everything below it) stops answering or publishing'),
  slow_device: fault('slow_device', { delayMs: Type.Number({ minimum: 0, maximum: 600_000 }) }, 'Device answers late'),
  garbage_flood: Type.Object(
    {
      kind: Type.Literal('garbage_flood'),
      ratePerS: Type.Number({ minimum: 1, maximum: 10_000, description: 'Messages per wall-clock second' }),
      durationS: Type.Number({ exclusiveMinimum: 0, maximum: 3600, description: 'Wall-clock seconds' }),
      kinds: Type.Optional(Type.Array(Type.Union(GARBAGE_KINDS.map((k) => Type.Literal(k))), { minItems: 1 })),
      oversizeBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 4 * 1024 * 1024 })),
    },
    { additionalProperties: false, description: 'MQTT face: a flood of bad messages on the thermostat topics' },
  ),
} as const;

export type ControlFaultKind = keyof typeof FAULT_SCHEMAS;
const KINDS = Object.keys(FAULT_SCHEMAS) as ControlFaultKind[];

const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const TimeBody = Type.Object(
  {
    scale: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000, description: 'Simulated seconds per wall second; 0 pauses' })),
    advanceS: Type.Optional(Type.Number({ minimum: 0, maximum: 30 * 86_400, description: 'Jump the clock ahead by this many simulated seconds' })),
  },
  { additionalProperties: false },
);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks a fault body against the schema of its kind; returns it typed, or throws HttpError 400 naming the kind and
 * every problem with its path (e.g. `leak: /rateM3h: Expected number`).
 */
export function parseFaultSpec(body: unknown): FaultSpec | MqttFaceFaultSpec {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'BAD_FAULT', 'the body must be a JSON object such as { "kind": "leak", "target": "ss03" }');
  const kind = (body as Record<string, unknown>)['kind'];
  if (typeof kind !== 'string' || !(KINDS as string[]).includes(kind)) {
    throw new HttpError(400, 'BAD_FAULT', `unknown fault kind ${JSON.stringify(kind ?? null)}; known kinds: ${KINDS.join(', ')}`);
  }
  const schema = FAULT_SCHEMAS[kind as ControlFaultKind];
  if (!Value.Check(schema, body)) {
    const problems = [...Value.Errors(schema, body)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
    throw new HttpError(400, 'BAD_FAULT', `${kind}: ${[...new Set(problems)].join('; ')}`);
  }
  return body as FaultSpec | MqttFaceFaultSpec;
}

/** NaN and infinities as null (JSON has no NaN; a dead sensor reads NaN in the model). */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function finiteAll<T extends object>(o: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v === 'number' ? finite(v) : v;
  return out;
}

const MODEL_ERROR_STATUS: Record<string, number> = { UNKNOWN_TARGET: 400, BAD_FAULT: 400, UNKNOWN_TAG: 400, BAD_OPTION: 400, FACE_NOT_RUNNING: 409 };

/** Builds the app (not listening); the runtime listens, tests use `app.inject`. */
export function buildControlApi(sims: Simulators): FastifyInstance {
  const app = Fastify({ loggerInstance: sims.log.child({ face: 'http' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 64 * 1024 });

  app.setErrorHandler((err: FastifyError | HttpError | Error, _req, reply) => {
    if (err instanceof HttpError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code in MODEL_ERROR_STATUS) return reply.status(MODEL_ERROR_STATUS[code]!).send({ error: { code, message: err.message } });
    const fe = err as FastifyError;
    if (fe.validation) return reply.status(400).send({ error: { code: 'BAD_REQUEST', message: fe.message } });
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return reply.status(fe.statusCode).send({ error: { code: 'BAD_REQUEST', message: fe.message } });
    sims.log.error({ err }, 'control API request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error (see the simulator log)' } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  const time = () => {
    const now = sims.now();
    return { now: Math.round(now), iso: new Date(now).toISOString(), modelNow: Math.round(sims.model.now()), timeScale: sims.timeScale(), wallNow: Date.now() };
  };

  app.get('/health', () => {
    const m = sims.model;
    return {
      status: 'ok',
      time: time(),
      apartments: m.apartments.count,
      substations: m.substationIds().length,
      buildings: m.buildingIds().length,
      weatherStations: m.weatherStationIds().length,
      faults: sims.faults().length,
      model: sims.stats(),
      faces: {
        mqtt: sims.mqtt?.stats() ?? null,
        modbus: sims.modbus ? { ports: sims.modbus.ports, ...sims.modbus.stats() } : null,
        http: sims.http,
      },
    };
  });

  app.get('/faults', () => ({ faults: sims.faults() }));

  app.post('/faults', { schema: { body: Type.Object({ kind: Type.String() }), response: { 201: Type.Object({ id: Type.String() }), 400: ErrorBody, 409: ErrorBody } } }, (req, reply) => {
    const spec = parseFaultSpec(req.body);
    return reply.status(201).send({ id: sims.inject(spec) });
  });

  app.delete('/faults/:id', { schema: { params: IdParams } }, (req, reply) => {
    const { id } = req.params as Static<typeof IdParams>;
    if (!sims.clear(id)) throw new HttpError(404, 'NOT_FOUND', `no active fault ${id} (it may have ended: garbage floods end by themselves)`);
    return reply.status(204).send();
  });

  app.delete('/faults', () => {
    const n = sims.faults().length;
    sims.clearAll();
    return { cleared: n };
  });

  app.get('/time', () => time());

  app.post('/time', { schema: { body: TimeBody } }, async (req) => {
    const body = req.body as Static<typeof TimeBody>;
    if (body.scale === undefined && body.advanceS === undefined) throw new HttpError(400, 'BAD_REQUEST', 'give { "scale": 60 } to change the time scale and/or { "advanceS": 3600 } to jump ahead');
    if (body.scale !== undefined) sims.setTimeScale(body.scale);
    if (body.advanceS !== undefined && body.advanceS > 0) await sims.stepNow(body.advanceS);
    return time();
  });

  app.get('/substations', () => ({ substations: sims.model.substationIds() }));

  app.get('/substations/:id', { schema: { params: IdParams } }, (req) => {
    const { id } = req.params as Static<typeof IdParams>;
    const m = sims.model;
    if (!m.substationIds().includes(id)) throw new HttpError(404, 'NOT_FOUND', `no substation ${id}`);
    return { id, ts: Math.round(m.now()), tags: finiteAll(m.substationTags(id)), flags: m.flags(id) };
  });

  app.get('/apartments/:id', { schema: { params: IdParams } }, (req) => {
    const { id } = req.params as Static<typeof IdParams>;
    const m = sims.model;
    let i: number;
    try {
      i = m.apartmentIndex(id);
    } catch {
      throw new HttpError(404, 'NOT_FOUND', `no apartment ${id} (ids are <building>-<FFUU>, e.g. ss01-b2-0302)`);
    }
    const t = m.apartments.truth;
    return {
      ...finiteAll(m.apartmentValues(id)),
      ts: Math.round(m.now()),
      topic: sims.mqtt?.apartmentTopics[i] ?? null,
      flags: m.flags(id),
      truth: { air_temp_c: t.air_temp_c[i]!, mass_temp_c: t.mass_temp_c[i]!, heat_w: t.heat_w[i]!, flow_m3h: t.flow_m3h[i]!, return_temp_c: t.return_temp_c[i]! },
    };
  });

  app.get('/weather', () => {
    const m = sims.model;
    return {
      ts: Math.round(m.now()),
      truth: m.weatherNow(),
      stations: Object.fromEntries(m.weatherStationIds().map((id) => [id, { ...finiteAll(m.weatherStationTags(id)), flags: m.flags(id) }])),
      forecast: m.forecast(48).map((p) => ({ ts: p.ts, lead_h: p.lead_h, outdoor_temp_c: p.outdoor_temp_c, humidity_pct: p.humidity_pct, wind_speed_ms: p.wind_speed_ms, solar_wm2: p.solar_wm2 })),
    };
  });

  return app;
}
