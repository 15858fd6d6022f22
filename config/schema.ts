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

const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'Asset or object id: letters, digits, _ . -' });
const Name = Type.String({ minLength: 1, maxLength: 200 });

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
    floors: Type.Integer({ minimum: 1, maximum: 60 }),
    unitsPerFloor: Type.Integer({ minimum: 1, maximum: 20 }),
    apartmentAreaM2: Type.Number({ default: 90, minimum: 20, maximum: 400 }),
    insulation: Type.Union([Type.Literal('good'), Type.Literal('average'), Type.Literal('poor')], { default: 'average' }),
    /** Design heat index q in W/m² (DOMAIN.md §3); defaults from insulation when absent. */
    heatIndexWm2: Type.Optional(Type.Number({ minimum: 15, maximum: 120 })),
    /** Apartments whose account is suspended (报停), by their number: floor and unit, e.g. "0302". */
    suspended: Type.Array(Type.String({ pattern: '^[0-9]{4}$' }), { default: [] }),
  },
  { additionalProperties: false },
);

export const Substation = Type.Object(
  {
    id: Id,
    name: Name,
    emitter: Type.Union([Type.Literal('radiator'), Type.Literal('floor')], { default: 'radiator' }),
    design: Type.Optional(Type.Partial(DesignTemps)),
    /** Schematic position on the wall display, 0..1 in both axes. */
    position: Type.Optional(Type.Object({ x: Type.Number({ minimum: 0, maximum: 1 }), y: Type.Number({ minimum: 0, maximum: 1 }) }, { additionalProperties: false })),
    buildings: Type.Array(Building, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const DistrictNetwork = Type.Object(
  {
    id: Id,
    name: Name,
    substations: Type.Array(Substation, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const HeatSource = Type.Object(
  {
    id: Id,
    name: Name,
    kind: Type.Union([Type.Literal('chp'), Type.Literal('boiler'), Type.Literal('heat_pump'), Type.Literal('industrial')], { default: 'chp' }),
    networks: Type.Array(DistrictNetwork, { minItems: 1 }),
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
    company: Type.Object({ id: Id, name: Name }, { additionalProperties: false }),
    climate: Type.Object(
      {
        city: Name,
        /** GB 50736-2012 Appendix A outdoor design temperature for heating. */
        designOutdoorC: Type.Number({ minimum: -45, maximum: 10 }),
        seasonStart: Type.String({ pattern: '^[01][0-9]-[0-3][0-9]$', default: '11-15' }),
        seasonEnd: Type.String({ pattern: '^[01][0-9]-[0-3][0-9]$', default: '03-15' }),
      },
      { additionalProperties: false },
    ),
    heatSources: Type.Array(HeatSource, { minItems: 1 }),
    weatherStations: Type.Array(WeatherStation, { default: [] }),
  },
  { additionalProperties: false },
);
export type NetworkFile = Static<typeof NetworkFile>;
export type BuildingConfig = Static<typeof Building>;
export type SubstationConfig = Static<typeof Substation>;

export const PipelineRule = Type.Object(
  {
    /** Asset kind the rule applies to, or "*". */
    kind: Type.String({ default: '*' }),
    /** Field name, or a glob with "*" (e.g. "*_temp_c"). */
    field: Type.String({ minLength: 1 }),
    scale: Type.Number({ default: 1 }),
    offset: Type.Number({ default: 0 }),
    /** Absolute deadband: a change smaller than this is not stored, unless `heartbeatMs` has passed. */
    deadband: Type.Number({ default: 0, minimum: 0 }),
    heartbeatMs: Type.Integer({ default: 60_000, minimum: 0 }),
    /** Plausible range after scaling; a value outside it is rejected as out_of_range. */
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
export type PipelineRule = Static<typeof PipelineRule>;

export const HubFile = Type.Object(
  {
    http: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0' }),
        port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
        bodyLimitBytes: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 67_108_864 }),
      },
      { additionalProperties: false, default: {} },
    ),
    dataDir: Type.String({ default: './data' }),
    store: Type.Object(
      {
        kind: Type.Union([Type.Literal('embedded'), Type.Literal('influx')], { default: 'embedded' }),
        batchSize: Type.Integer({ default: 5000, minimum: 1, maximum: 1_000_000, description: 'Readings per store write' }),
        flushMs: Type.Integer({ default: 250, minimum: 1, maximum: 60_000, description: 'Longest a reading waits for its batch' }),
        queueLimit: Type.Integer({ default: 200_000, minimum: 100, description: 'Readings waiting for the store before sources are held back' }),
        retention: Type.Object(
          {
            rawDays: Type.Number({ default: 14, minimum: 0 }),
            '1mDays': Type.Number({ default: 90, minimum: 0 }),
            '15mDays': Type.Number({ default: 400, minimum: 0 }),
            '1hDays': Type.Number({ default: 3650, minimum: 0 }),
            '1dDays': Type.Number({ default: 0, minimum: 0 }),
          },
          { additionalProperties: false, default: {} },
        ),
        influx: Type.Optional(
          Type.Object(
            {
              url: Type.String(),
              org: Type.String(),
              bucket: Type.String(),
              /** Never in a file: set INFLUX_TOKEN. */
              token: Type.Optional(Type.String()),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    pipeline: Type.Object(
      {
        maxFutureMs: Type.Integer({ default: 300_000, minimum: 0, description: 'Readings stamped further ahead are rejected' }),
        maxPastMs: Type.Integer({ default: 7 * 86_400_000, minimum: 0, description: 'Readings stamped further back are rejected' }),
        rules: Type.Array(PipelineRule, { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    live: Type.Object(
      {
        flushMs: Type.Integer({ default: 250, minimum: 20, maximum: 10_000, description: 'Coalescing interval per client' }),
        maxBufferedBytes: Type.Integer({ default: 4_194_304, minimum: 65_536, description: 'Socket backlog at which updates are skipped' }),
        slowClientMs: Type.Integer({ default: 30_000, minimum: 1000, description: 'A client over the backlog this long is dropped' }),
        maxSeriesPerClient: Type.Integer({ default: 500_000, minimum: 10 }),
      },
      { additionalProperties: false, default: {} },
    ),
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
