/**
 * The configuration schema: one TypeBox source for validation, defaults, types and the configuration reference.
 *
 * A configuration directory holds:
 *   hub.yaml       hub settings (HTTP, data directory, store, pipeline, live feed)      optional, defaults apply
 *   network.yaml   the asset tree: company → heat sources → networks → substations → buildings → apartments, weather
 *   sources.yaml   source instances (Modbus, OPC UA, MQTT) and the devices they read                     optional
 *   templates/     device templates (register maps, node paths), also looked up in config/templates/
 */
import { Type, type Static } from '@sinclair/typebox';
import { ControlConfig } from '../control/config-schema.ts';

const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'Unique id: letters, digits, _ . -' });
const Name = Type.String({ minLength: 1, maxLength: 200, description: 'Display name' });

export const DesignTemps = Type.Object(
  {
    indoorC: Type.Number({ default: 18, minimum: 10, maximum: 26, description: 't_n, indoor design temperature' }),
    outdoorC: Type.Number({ minimum: -45, maximum: 10, description: "t_w', outdoor design temperature" }),
    supplyC: Type.Number({ minimum: 30, maximum: 95, description: "t_g', design supply of the emitter circuit" }),
    returnC: Type.Number({ minimum: 20, maximum: 80, description: "t_h', design return of the emitter circuit" }),
    exponent: Type.Number({ default: 1.3, minimum: 1, maximum: 2, description: 'm = 1 + b, emitter exponent' }),
  },
  { additionalProperties: false },
);

export const Building = Type.Object(
  {
    id: Id,
    name: Name,
    floors: Type.Integer({ minimum: 1, maximum: 60, description: 'Storeys with apartments' }),
    unitsPerFloor: Type.Integer({ minimum: 1, maximum: 20, description: 'Apartments per storey' }),
    apartmentAreaM2: Type.Number({ default: 90, minimum: 20, maximum: 400, description: 'Heated area of one apartment, m²' }),
    insulation: Type.Union([Type.Literal('good'), Type.Literal('average'), Type.Literal('poor')], { default: 'average', description: 'Envelope class; sets the default heat index (45/57/70 W/m²)' }),
    /** Design heat index q in W/m² (DOMAIN.md §3); defaults from insulation when absent. */
    heatIndexWm2: Type.Optional(Type.Number({ minimum: 15, maximum: 120, description: 'Design heat index q, W/m²' })),
    /** Apartments whose account is suspended (报停), by their number: floor and unit, e.g. "0302". */
    suspended: Type.Array(Type.String({ pattern: '^[0-9]{4}$' }), { default: [], description: 'Suspended accounts (报停) by apartment number FFUU, e.g. "0302"' }),
  },
  { additionalProperties: false },
);

export const Substation = Type.Object(
  {
    id: Id,
    name: Name,
    emitter: Type.Union([Type.Literal('radiator'), Type.Literal('floor')], { default: 'radiator', description: 'Emitters of the secondary circuit; sets design temperatures and limits' }),
    design: Type.Optional(Type.Partial(DesignTemps, { description: 'Design temperatures; defaults by emitter (radiator 75/50, floor 45/35)' })),
    /** Schematic position on the wall display, 0..1 in both axes. */
    position: Type.Optional(Type.Object({ x: Type.Number({ minimum: 0, maximum: 1 }), y: Type.Number({ minimum: 0, maximum: 1 }) }, { additionalProperties: false })),
    buildings: Type.Array(Building, { minItems: 1, description: 'Buildings on the secondary network; apartments are generated from floors × units' }),
  },
  { additionalProperties: false },
);

export const DistrictNetwork = Type.Object(
  {
    id: Id,
    name: Name,
    substations: Type.Array(Substation, { minItems: 1, description: 'Heat-exchange substations (换热站) on this network' }),
  },
  { additionalProperties: false },
);

export const HeatSource = Type.Object(
  {
    id: Id,
    name: Name,
    kind: Type.Union([Type.Literal('chp'), Type.Literal('boiler'), Type.Literal('heat_pump'), Type.Literal('industrial')], { default: 'chp', description: 'Kind of plant' }),
    networks: Type.Array(DistrictNetwork, { minItems: 1, description: 'Primary networks fed by the plant' }),
  },
  { additionalProperties: false },
);

export const WeatherStation = Type.Object(
  {
    id: Id,
    name: Name,
  },
  { additionalProperties: false },
);

export const NetworkFile = Type.Object(
  {
    company: Type.Object({ id: Id, name: Name }, { additionalProperties: false, description: 'The root of the asset tree' }),
    climate: Type.Object(
      {
        city: Type.String({ minLength: 1, maxLength: 200, description: 'City, for the climate defaults' }),
        /** GB 50736-2012 Appendix A outdoor design temperature for heating. */
        designOutdoorC: Type.Number({ minimum: -45, maximum: 10, description: "t_w', °C (GB 50736-2012 App. A), e.g. Jinan -5.3" }),
        seasonStart: Type.String({ pattern: '^[01][0-9]-[0-3][0-9]$', default: '11-15', description: 'Heating season start, MM-DD' }),
        seasonEnd: Type.String({ pattern: '^[01][0-9]-[0-3][0-9]$', default: '03-15', description: 'Heating season end, MM-DD' }),
      },
      { additionalProperties: false },
    ),
    heatSources: Type.Array(HeatSource, { minItems: 1, description: 'Plants feeding the network' }),
    weatherStations: Type.Array(WeatherStation, { default: [], description: 'Outdoor temperature and forecast sources' }),
  },
  { additionalProperties: false },
);
export type NetworkFile = Static<typeof NetworkFile>;
export type BuildingConfig = Static<typeof Building>;
export type SubstationConfig = Static<typeof Substation>;

export const PipelineRule = Type.Object(
  {
    /** Asset kind the rule applies to, or "*". */
    kind: Type.String({ default: '*', description: 'Asset kind the rule applies to, or *' }),
    /** Field name, or a glob with "*" (e.g. "*_temp_c"). */
    field: Type.String({ minLength: 1, description: 'Field name or glob, e.g. *_temp_c' }),
    scale: Type.Number({ default: 1, description: 'value = raw × scale + offset' }),
    offset: Type.Number({ default: 0, description: 'Added after scaling' }),
    /** Absolute deadband: a change smaller than this is not stored, unless `heartbeatMs` has passed. */
    deadband: Type.Number({ default: 0, minimum: 0, description: 'A change smaller than this is not stored (until heartbeatMs passes)' }),
    heartbeatMs: Type.Integer({ default: 60_000, minimum: 0, description: 'Store at least this often even inside the deadband' }),
    /** Plausible range after scaling; a value outside it is rejected as out_of_range. */
    min: Type.Optional(Type.Number({ description: 'Lowest plausible value; below is rejected as out_of_range' })),
    max: Type.Optional(Type.Number({ description: 'Highest plausible value' })),
  },
  { additionalProperties: false },
);
export type PipelineRule = Static<typeof PipelineRule>;

export const HubFile = Type.Object(
  {
    http: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0', description: 'Address to listen on (HOST)' }),
        port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'HTTP port (PORT); 0 picks a free one' }),
        bodyLimitBytes: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 67_108_864, description: 'Largest request body accepted; larger gets 413' }),
      },
      { additionalProperties: false, default: {} },
    ),
    dataDir: Type.String({ default: './data', description: 'Directory for all state: telemetry, alarms, tickets, users (DATA_DIR)' }),
    store: Type.Object(
      {
        kind: Type.Union([Type.Literal('embedded'), Type.Literal('influx')], { default: 'embedded', description: 'Telemetry backend (STORE)' }),
        batchSize: Type.Integer({ default: 5000, minimum: 1, maximum: 1_000_000, description: 'Readings per store write' }),
        flushMs: Type.Integer({ default: 250, minimum: 1, maximum: 60_000, description: 'Longest a reading waits for its batch' }),
        queueLimit: Type.Integer({ default: 200_000, minimum: 100, description: 'Readings waiting for the store before sources are held back' }),
        retention: Type.Object(
          {
            rawDays: Type.Number({ default: 14, minimum: 0, description: 'Days raw samples are kept; 0 keeps forever' }),
            '1mDays': Type.Number({ default: 90, minimum: 0, description: 'Days 1-minute rollups are kept' }),
            '15mDays': Type.Number({ default: 400, minimum: 0, description: 'Days 15-minute rollups are kept' }),
            '1hDays': Type.Number({ default: 3650, minimum: 0, description: 'Days 1-hour rollups are kept' }),
            '1dDays': Type.Number({ default: 0, minimum: 0, description: 'Days 1-day rollups are kept' }),
          },
          { additionalProperties: false, default: {} },
        ),
        influx: Type.Optional(
          Type.Object(
            {
              url: Type.String({ description: 'InfluxDB 2 URL (INFLUX_URL)' }),
              org: Type.String({ description: 'Organisation (INFLUX_ORG)' }),
              bucket: Type.String({ description: 'Bucket (INFLUX_BUCKET)' }),
              /** Never in a file: set INFLUX_TOKEN. */
              token: Type.Optional(Type.String({ description: 'Only from the environment: INFLUX_TOKEN' })),
              timeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 300_000, description: 'Timeout of one HTTP request to InfluxDB' }),
              retries: Type.Integer({ default: 2, minimum: 0, maximum: 10, description: 'Retries of a failed request that may pass on retry (unreachable, 429, 5xx); 401/403/404/4xx never' }),
            },
            { additionalProperties: false },
          ),
        ),
        /** The store-and-forward buffer in front of a remote store (influx): docs/influxdb.md. */
        buffer: Type.Object(
          {
            dir: Type.String({ default: '', description: 'Directory of the store-and-forward buffer (influx); empty means buffer/ under dataDir' }),
            maxBytes: Type.Integer({ default: 1_073_741_824, minimum: 1_048_576, description: 'Disk the buffer may use; when full, new readings are refused (sources are held back, MQTT keeps them in the broker)' }),
            segmentBytes: Type.Integer({ default: 16_777_216, minimum: 65_536, maximum: 1_073_741_824, description: 'Size of one buffer segment file (at most maxBytes)' }),
            directTimeoutMs: Type.Integer({ default: 5000, minimum: 100, maximum: 600_000, description: 'A write the remote store takes longer for goes to the buffer instead' }),
            replayBatch: Type.Integer({ default: 10_000, minimum: 1, maximum: 1_000_000, description: 'Readings per request while replaying the buffer' }),
            retryMaxMs: Type.Integer({ default: 5000, minimum: 100, maximum: 3_600_000, description: 'Longest pause between attempts while the remote store is down (also the longest wait for the replay to start once it is back)' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    pipeline: Type.Object(
      {
        maxFutureMs: Type.Integer({ default: 300_000, minimum: 0, description: 'Readings stamped further ahead are rejected' }),
        maxPastMs: Type.Integer({ default: 7 * 86_400_000, minimum: 0, description: 'Readings stamped further back are rejected' }),
        rules: Type.Array(PipelineRule, { default: [], description: 'Per asset kind and field: scaling, plausible range, deadband. The last matching rule wins.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        sessionHours: Type.Number({ default: 12, minimum: 0.1, maximum: 720, description: 'A login session lasts this long (one shift)' }),
        displaySessionDays: Type.Number({ default: 30, minimum: 1, maximum: 365, description: 'A wall-display session opened with a display token lasts this long' }),
        lockoutThreshold: Type.Integer({ default: 10, minimum: 3, maximum: 100, description: 'Consecutive wrong passwords that lock an account' }),
        lockoutBaseMinutes: Type.Number({ default: 5, minimum: 0.01, description: 'First lock-out; each further one doubles' }),
        lockoutMaxMinutes: Type.Number({ default: 60, minimum: 0.01, description: 'Longest lock-out' }),
        loginRateLimitPerMinute: Type.Integer({ default: 20, minimum: 1, description: 'Login attempts per client address per minute' }),
        secureCookies: Type.Union([Type.Literal('auto'), Type.Boolean()], { default: 'auto', description: 'Mark cookies Secure: auto = when the request came over HTTPS' }),
        trustProxy: Type.Boolean({ default: false, description: 'Trust X-Forwarded-* from a reverse proxy (client address, HTTPS)' }),
      },
      { additionalProperties: false, default: {} },
    ),
    live: Type.Object(
      {
        flushMs: Type.Integer({ default: 250, minimum: 20, maximum: 10_000, description: 'Coalescing interval per client' }),
        maxBufferedBytes: Type.Integer({ default: 4_194_304, minimum: 65_536, description: 'Socket backlog at which updates are skipped' }),
        slowClientMs: Type.Integer({ default: 30_000, minimum: 1000, description: 'A client over the backlog this long is dropped' }),
        maxSeriesPerClient: Type.Integer({ default: 500_000, minimum: 10, description: 'Assets one client may subscribe to' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Regulation advice and setpoint writes (control/). */
    control: ControlConfig,
  },
  { additionalProperties: false },
);
export type HubFile = Static<typeof HubFile>;

/** One source instance; its plugin validates the rest of the entry against its own schema. */
export const SourceEntry = Type.Object(
  {
    id: Id,
    kind: Type.String({ minLength: 1 }),
    enabled: Type.Boolean({ default: true }),
  },
  { additionalProperties: true },
);
export type SourceEntry = Static<typeof SourceEntry>;

export const SourcesFile = Type.Object(
  {
    sources: Type.Array(SourceEntry, { default: [] }),
  },
  { additionalProperties: false },
);
export type SourcesFile = Static<typeof SourcesFile>;

/** A device template: the protocol plugin validates `protocol`-specific parts. */
export const TemplateFile = Type.Object(
  {
    id: Id,
    protocol: Type.String({ minLength: 1 }),
    assetKind: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type TemplateFile = Static<typeof TemplateFile>;
