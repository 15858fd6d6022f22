/**
 * The `control:` section of hub.yaml: advice cadence, indoor feedback, sensor checks, forecast, write guards and auto
 * mode. One TypeBox source for validation, defaults and the configuration reference (config/reference.ts).
 * Curves are set per substation through the API (they start from network.yaml's emitter and design temperatures).
 */
import { Type, type Static } from '@sinclair/typebox';

const SubstationId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' });

export const ControlConfig = Type.Object(
  {
    adviceIntervalMin: Type.Number({ default: 15, minimum: 1, maximum: 1440, description: 'Advice for every substation this often (minutes)' }),
    adviceRetentionDays: Type.Number({ default: 90, minimum: 1, maximum: 3650, description: 'Days of advice history kept' }),
    weatherStation: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'Weather station whose forecast feeds the advice (default: the first in network.yaml)' })),
    outdoorStaleMin: Type.Number({ default: 30, minimum: 1, description: 'An outdoor temperature older than this is stale: no advice, and auto mode drops to manual' }),
    supplyStaleMin: Type.Number({ default: 15, minimum: 1, description: 'A secondary supply or setpoint reading older than this is stale' }),
    feedback: Type.Object(
      {
        controlled: Type.Union([Type.Literal('substation'), Type.Literal('coldest_building')], { default: 'substation', description: "Control the substation's quantile, or the lowest building quantile" }),
        quantile: Type.Number({ default: 0.1, minimum: 0.01, maximum: 0.5, description: 'Quantile of apartment temperatures that is controlled' }),
        targetC: Type.Number({ default: 19, minimum: 16, maximum: 24, description: 'Target of that quantile, °C' }),
        kp: Type.Number({ default: 2, minimum: 0, maximum: 20, description: 'K of supply per K of room error' }),
        integralH: Type.Number({ default: 12, minimum: 0.5, maximum: 500, description: 'Integral time, hours' }),
        shiftMinK: Type.Number({ default: -15, minimum: -40, maximum: 0, description: 'Lowest feedback shift, K' }),
        shiftMaxK: Type.Number({ default: 15, minimum: 0, maximum: 40, description: 'Highest feedback shift, K' }),
        coldShare: Type.Number({ default: 0.01, minimum: 0, maximum: 1, description: 'Share of flats below 18 °C tolerated before the cold push' }),
        coldGainK: Type.Number({ default: 80, minimum: 0, maximum: 1000, description: 'K of error per unit share below 18 °C beyond coldShare' }),
        overheatShare: Type.Number({ default: 0.1, minimum: 0, maximum: 1, description: 'Share of flats above 22 °C tolerated before the overheat push' }),
        overheatGainK: Type.Number({ default: 4, minimum: 0, maximum: 1000, description: 'K of error per unit share above 22 °C beyond overheatShare' }),
        minValid: Type.Integer({ default: 5, minimum: 1, description: 'Fewer valid apartment sensors than this holds the feedback' }),
        minValidShare: Type.Number({ default: 0.3, minimum: 0, maximum: 1, description: 'Fewer valid sensors than this share of active flats holds the feedback' }),
      },
      { additionalProperties: false, default: {} },
    ),
    sensors: Type.Object(
      {
        staleMin: Type.Number({ default: 60, minimum: 1, description: 'A room temperature older than this is not used' }),
        minC: Type.Number({ default: 8, description: 'Lowest plausible room temperature' }),
        maxC: Type.Number({ default: 35, description: 'Highest plausible room temperature' }),
        sentinelsC: Type.Array(Type.Number(), { default: [0, 85, 185, -127, 127], description: 'Values a dead sensor pins at' }),
        stuckHours: Type.Number({ default: 6, minimum: 0.5, description: 'A value unchanged this long is a stuck sensor' }),
        outlierZ: Type.Number({ default: 4.5, minimum: 2, description: 'Robust z-score beyond which a value is left out' }),
      },
      { additionalProperties: false, default: {} },
    ),
    forecast: Type.Object(
      {
        radiatorLagH: Type.Number({ default: 1, minimum: 0, maximum: 48, description: 'Lag of a radiator circuit (pipes, emitters, plant loop), hours' }),
        floorLagH: Type.Number({ default: 6, minimum: 0, maximum: 48, description: 'Lag of a floor-heating circuit, hours' }),
        tauFactor: Type.Number({ default: 0.05, minimum: 0, maximum: 1, description: 'Share of the building time constant added to the look-ahead' }),
        maxLeadH: Type.Number({ default: 12, minimum: 0, maximum: 24, description: 'Longest look-ahead, hours' }),
        attenuatedWeight: Type.Number({ default: 0, minimum: 0, maximum: 1, description: 'Weight of the building-filtered outdoor temperature' }),
        defaultTauH: Type.Number({ default: 50, minimum: 1, maximum: 500, description: 'Building time constant until one is learned, hours' }),
        learnTau: Type.Boolean({ default: true, description: 'Learn building time constants from history' }),
        maxAgeH: Type.Number({ default: 3, minimum: 0.5, maximum: 48, description: 'A forecast older than this is not used' }),
      },
      { additionalProperties: false, default: {} },
    ),
    flow: Type.Object(
      {
        stages: Type.Array(
          Type.Object(
            {
              belowOutdoorC: Type.Number({ minimum: -45, maximum: 25, description: 'The stage applies at or below this outdoor temperature' }),
              relFlow: Type.Number({ minimum: 0.3, maximum: 1.5, description: 'Relative flow G/G′ of the stage' }),
            },
            { additionalProperties: false },
          ),
          { default: [], maxItems: 6, description: 'Stepped-flow regulation (分阶段变流量): relative flow by outdoor temperature; empty keeps constant flow' },
        ),
        designDpMpa: Type.Optional(Type.Number({ minimum: 0.01, maximum: 1, description: 'Circulating pump ΔP at design flow, for a ΔP setpoint suggestion (ΔP′·Ḡ²)' })),
      },
      { additionalProperties: false, default: {} },
    ),
    writes: Type.Object(
      {
        enabled: Type.Array(SubstationId, { default: [], description: 'Substations whose setpoint writes are enabled at start (the API can change it, audited); off by default' }),
        confirmTtlS: Type.Integer({ default: 120, minimum: 10, maximum: 3600, description: 'A write request must be confirmed within this many seconds' }),
        maxStepK: Type.Number({ default: 5, minimum: 0.1, maximum: 30, description: 'Largest change of a setpoint in one write, K' }),
        maxRateKPerH: Type.Number({ default: 10, minimum: 0.1, maximum: 100, description: 'Largest total change within an hour, K' }),
        adviceMaxAgeMin: Type.Number({ default: 60, minimum: 1, description: 'Advice older than this cannot be approved' }),
        readBackToleranceK: Type.Number({ default: 0.05, minimum: 0, maximum: 5, description: 'A read-back this close to the request counts as written' }),
        auto: Type.Object(
          {
            maxStepK: Type.Number({ default: 2, minimum: 0.1, maximum: 30, description: 'Auto mode: largest change in one write, K' }),
            maxRateKPerH: Type.Number({ default: 4, minimum: 0.1, maximum: 100, description: 'Auto mode: largest total change within an hour, K' }),
            deadbandK: Type.Number({ default: 0.3, minimum: 0, maximum: 10, description: 'Auto mode: no write for a smaller difference' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    loadForecast: Type.Object(
      {
        historyDays: Type.Number({ default: 14, minimum: 1, maximum: 365, description: 'Days of hourly history the load regression is fitted on' }),
        weatherSdBaseK: Type.Number({ default: 0.5, minimum: 0, description: 'Assumed outdoor forecast error at lead 0, K' }),
        weatherSdPerHourK: Type.Number({ default: 0.055, minimum: 0, description: 'Growth of the assumed forecast error per hour of lead, K' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type ControlConfig = Static<typeof ControlConfig>;
