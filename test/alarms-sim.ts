/**
 * A small adapter from the simulator's model state to Readings, for alarm tests and the alarm benchmark: what the
 * Modbus poller and the MQTT thermostats would deliver, without the protocols (those are tested elsewhere).
 *
 * - Substations and heat sources: every tag, every `plantEveryS`; while the model flags the device in comm loss, one
 *   bad-quality status reading (as the Modbus source emits when a device stops answering), then nothing.
 * - Apartments: room temperature, valve and battery every `apartmentEveryS` (setpoint where a thermostat exists);
 *   nothing while in comm loss (a thermostat that lost its radio just goes quiet).
 * - Weather stations: their tags, with the plant.
 * Values are passed as the model publishes them, NaN included (a dead sensor): the pipeline rejects NaN fields like it
 * would a device's.
 */
import type { FieldValue, Reading } from '../ingest/reading.ts';
import type { NetworkModel } from '../simulators/model/index.ts';

export interface ModelFeedOptions {
  plantEveryS?: number;
  apartmentEveryS?: number;
}

export class ModelFeed {
  readonly #m: NetworkModel;
  readonly #plantMs: number;
  readonly #aptMs: number;
  #lastPlant = -Infinity;
  #lastApt = -Infinity;
  readonly #down = new Set<string>();

  constructor(model: NetworkModel, opts: ModelFeedOptions = {}) {
    this.#m = model;
    this.#plantMs = (opts.plantEveryS ?? 10) * 1000;
    this.#aptMs = (opts.apartmentEveryS ?? 60) * 1000;
  }

  /** Readings due at the model's current time (call after each step). */
  readings(): Reading[] {
    const m = this.#m;
    const ts = m.now();
    const out: Reading[] = [];
    if (ts - this.#lastPlant >= this.#plantMs) {
      this.#lastPlant = ts;
      for (const id of m.substationIds()) this.#device(out, id, ts, () => m.substationTags(id) as unknown as Record<string, FieldValue>, 'sim:plc');
      for (const id of m.heatSourceIds()) this.#device(out, id, ts, () => m.heatSourceTags(id) as unknown as Record<string, FieldValue>, 'sim:plant');
      for (const id of m.weatherStationIds()) this.#device(out, id, ts, () => m.weatherStationTags(id) as unknown as Record<string, FieldValue>, 'sim:weather');
    }
    if (ts - this.#lastApt >= this.#aptMs) {
      this.#lastApt = ts;
      const a = m.apartments;
      for (let i = 0; i < a.count; i++) {
        if (a.comm_loss[i]) continue;
        const fields: Record<string, FieldValue> = { room_temp_c: round1(a.room_temp_c[i]!), valve_pct: Math.round(a.valve_pct[i]!), battery_pct: Math.round(a.battery_pct[i]!) };
        const sp = a.setpoint_c[i]!;
        if (!Number.isNaN(sp)) fields['setpoint_c'] = sp;
        out.push({ asset: a.ids[i]!, ts, fields, quality: 'good', source: 'sim:thermostat' });
      }
    }
    return out;
  }

  #device(out: Reading[], id: string, ts: number, tags: () => Record<string, FieldValue>, source: string): void {
    if (this.#m.flags(id).comm_loss) {
      if (!this.#down.has(id)) {
        this.#down.add(id);
        out.push({ asset: id, ts, fields: {}, quality: 'bad', source });
      }
      return;
    }
    this.#down.delete(id);
    out.push({ asset: id, ts, fields: tags(), quality: 'good', source });
  }
}

/** Thermostats report to 0.1 K. */
function round1(x: number): number {
  return Number.isNaN(x) ? x : Math.round(x * 10) / 10;
}
