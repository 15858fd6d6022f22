/**
 * Fault injection: one vocabulary across the model (DOMAIN.md §3 "Faults to inject", §4 signatures).
 *
 * `NetworkModel.inject(spec)` validates a spec against its target, returns an id, and the fault acts until
 * `clear(id)`. Physical faults change the physics (a leak drains water, a pump trip stops the flow); sensor faults
 * change only what a tag reports (and what the local controller reads, when the tag is its measurement); flags
 * (`comm_loss`, `slow_device`) change nothing in the model and are read by the protocol faces.
 */

export type FaultSpec =
  // Substation, physical
  /** A leak in the secondary network: make-up flow rises, pressure falls, the make-up tank drains. */
  | { kind: 'leak'; target: string; rateM3h?: number }
  /** The circulating pump stops with a VFD fault: flow and ΔP collapse, the primary valve closes by protection. */
  | { kind: 'pump_trip'; target: string }
  /** The primary valve no longer moves: position feedback stays flat while the command moves. */
  | { kind: 'stuck_valve'; target: string; positionPct?: number }
  /** The heat meter's energy register stops while volume still counts (DOMAIN.md §4 heat-meter fault). */
  | { kind: 'meter_fault'; target: string }
  /** The substation's panel is switched to local: `remote` reads false and setpoint writes are refused. */
  | { kind: 'local_mode'; target: string }
  // Heat source
  /** Supply temperature falls by dropK (default 15 K), or the plant stops heating (`trip`). */
  | { kind: 'supply_drop'; target: string; dropK?: number; trip?: boolean }
  // Building
  /** A branch valve or strainer throttles a building's flow to `factor` (default 0.3) of normal. */
  | { kind: 'blocked_branch'; target: string; factor?: number }
  // Apartment
  /** Air lock or blocked radiator: emitter output falls to `factor` (default 0.1) of normal. */
  | { kind: 'cold_apartment'; target: string; factor?: number }
  /** Heat theft at a suspended account: a bypass opens its radiators to `opening` (default 1) of full flow. */
  | { kind: 'stolen_heat'; target: string; opening?: number }
  /** A window left open. */
  | { kind: 'window_open'; target: string }
  // Weather (target: the company id or a weather station id)
  /** A cold snap starting at startMs (default now): falls over 12 h, holds for durationH, recovers over 24 h. */
  | { kind: 'cold_snap'; target: string; depthK: number; durationH: number; startMs?: number }
  // Sensors: substation, apartment or weather station tags
  /** The tag freezes at its current value (or `value`): variance collapses. */
  | { kind: 'sensor_stuck'; target: string; tag: string; value?: number }
  /** The tag drifts: value + ratePerH·hours since injection. */
  | { kind: 'sensor_drift'; target: string; tag: string; ratePerH: number }
  /** The tag is pinned at a sentinel: NaN by default (the protocol face decides how to show it), or e.g. 0 or 185. */
  | { kind: 'sensor_dead'; target: string; tag: string; value?: number }
  /** Random one-step spikes of ±magnitude, ratePerH (default 4) per hour on average. */
  | { kind: 'spike'; target: string; tag: string; magnitude?: number; ratePerH?: number }
  // Flags for the protocol faces (any asset; applies to everything below it)
  /** The device stops answering (its face drops requests or publishes nothing). */
  | { kind: 'comm_loss'; target: string }
  /** The device answers late by delayMs. */
  | { kind: 'slow_device'; target: string; delayMs: number };

export type FaultKind = FaultSpec['kind'];

export const FAULT_KINDS: readonly FaultKind[] = [
  'leak',
  'pump_trip',
  'stuck_valve',
  'meter_fault',
  'local_mode',
  'supply_drop',
  'blocked_branch',
  'cold_apartment',
  'stolen_heat',
  'window_open',
  'cold_snap',
  'sensor_stuck',
  'sensor_drift',
  'sensor_dead',
  'spike',
  'comm_loss',
  'slow_device',
];

export interface ActiveFault {
  readonly id: string;
  readonly spec: FaultSpec;
  readonly sinceMs: number;
}

export type SensorFaultKind = 'sensor_stuck' | 'sensor_drift' | 'sensor_dead' | 'spike';

/** A sensor fault as the tag producer applies it. */
export interface SensorFault {
  readonly id: string;
  readonly kind: SensorFaultKind;
  readonly tag: string;
  /** stuck: the frozen value; dead: the pinned value. */
  readonly value: number;
  /** drift: K (or tag unit) per hour; spike: spikes per hour. */
  readonly ratePerH: number;
  readonly magnitude: number;
  readonly sinceMs: number;
  /** spike: −1, 0 or +1 for the current step, drawn by the owner once per step. */
  spikeNow: number;
}

export function applySensorFault(f: SensorFault, value: number, nowMs: number): number {
  switch (f.kind) {
    case 'sensor_stuck':
    case 'sensor_dead':
      return f.value;
    case 'sensor_drift':
      return value + (f.ratePerH * (nowMs - f.sinceMs)) / 3_600_000;
    case 'spike':
      return value + f.spikeNow * f.magnitude;
  }
}

/** Applies every fault on `tag` in injection order. */
export function applySensorFaults(faults: readonly SensorFault[], tag: string, value: number, nowMs: number): number {
  let v = value;
  for (const f of faults) if (f.tag === tag) v = applySensorFault(f, v, nowMs);
  return v;
}

/** Draws this step's spikes: each spike fault fires with probability 1 − exp(−rate·dt). */
export function drawSpikes(faults: readonly SensorFault[], dtS: number, uniform: () => number): void {
  for (const f of faults) {
    if (f.kind !== 'spike') continue;
    const p = 1 - Math.exp((-f.ratePerH * dtS) / 3600);
    f.spikeNow = uniform() < p ? (uniform() < 0.5 ? -1 : 1) : 0;
  }
}

export class ModelError extends Error {
  readonly code: ModelErrorCode;
  constructor(code: ModelErrorCode, message: string) {
    super(message);
    this.name = 'ModelError';
    this.code = code;
  }
}

/**
 * UNKNOWN_TARGET: no such asset; BAD_FAULT: a fault spec that does not fit its target; UNKNOWN_TAG: not a tag of that
 * asset; NOT_WRITABLE: a read-only tag; OUT_OF_RANGE: a write outside the tag's range; LOCAL_MODE: the panel is in
 * local and refuses remote writes; BAD_CONFIG: the network file does not validate.
 */
export type ModelErrorCode = 'UNKNOWN_TARGET' | 'BAD_FAULT' | 'UNKNOWN_TAG' | 'NOT_WRITABLE' | 'OUT_OF_RANGE' | 'LOCAL_MODE' | 'BAD_CONFIG';
