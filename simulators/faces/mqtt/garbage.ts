/**
 * Garbage for the hub's bad-input tests: messages on the thermostat topic scheme that a correct hub must reject,
 * count and survive. Each message is of exactly one kind, so a test can compare what was sent with what the hub
 * counted:
 *
 * | kind                | what                                                                       | hub reason (docs/mqtt.md)          |
 * |---------------------|----------------------------------------------------------------------------|------------------------------------|
 * | `malformed_json`    | truncated JSON, an array, a string, `null`, invalid UTF-8, empty, NaN       | `malformed`                        |
 * | `wrong_type`        | one field of the wrong type (a string, object or array) and a valid ts      | `wrong_type`                       |
 * | `unknown_apartment` | a valid payload for apartment 99UU of a real building, or an unknown building | `unknown_asset`                  |
 * | `out_of_range`      | `room_temp_c` of 300, −80 or 10⁶ and nothing else                          | field `out_of_range`, then `no_fields` |
 * | `future_ts`         | a valid payload stamped 1–30 days ahead of both the wall clock and the model  | `ts_future`                        |
 * | `oversize`          | a valid-looking payload padded to `oversizeBytes` (default 70,000 > 64 KiB) | `oversize`                         |
 *
 * Pure and seeded: the same seed and calls give the same messages.
 */

export const GARBAGE_KINDS = ['malformed_json', 'wrong_type', 'unknown_apartment', 'out_of_range', 'future_ts', 'oversize'] as const;
export type GarbageKind = (typeof GARBAGE_KINDS)[number];

export const DEFAULT_OVERSIZE_BYTES = 70_000;

export interface GarbageMessage {
  kind: GarbageKind;
  topic: string;
  payload: Buffer;
}

export interface GarbageContext {
  /** Real apartment topics (`<prefix>/<ss>/<building>/<FFUU>/telemetry`). */
  topics: readonly string[];
  /** A plausible sample time (the model's now), epoch ms. */
  nowMs: number;
  /** The wall clock, epoch ms (future timestamps lie ahead of both). */
  wallMs: number;
  oversizeBytes: number;
}

/** mulberry32: small, fast, seeded. */
export class GarbageRng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const padCache = new Map<number, string>();

function pad(n: number): string {
  let s = padCache.get(n);
  if (s === undefined) {
    s = 'x'.repeat(Math.max(0, n));
    padCache.clear();
    padCache.set(n, s);
  }
  return s;
}

/** Replaces the FFUU level of a topic. */
function withApartment(topic: string, no: string): string {
  const parts = topic.split('/');
  parts[parts.length - 2] = no;
  return parts.join('/');
}

/** Replaces the building level with `<building>-unknown`, which no network names. */
function withUnknownBuilding(topic: string): string {
  const parts = topic.split('/');
  parts[parts.length - 3] = `${parts[parts.length - 3]}-unknown`;
  return parts.join('/');
}

export function garbageMessage(kind: GarbageKind, ctx: GarbageContext, rng: GarbageRng): GarbageMessage {
  const topic = rng.pick(ctx.topics);
  const ts = Math.round(ctx.nowMs);
  const text = (s: string): GarbageMessage => ({ kind, topic, payload: Buffer.from(s, 'utf8') });
  switch (kind) {
    case 'malformed_json': {
      const v = rng.int(7);
      if (v === 0) return text(`{"ts":${ts},"room_temp_c":20.`);
      if (v === 1) return text('[1,2,3]');
      if (v === 2) return text('"just a string"');
      if (v === 3) return text('null');
      if (v === 4) return { kind, topic, payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) };
      if (v === 5) return text('');
      return text(`{"ts":${ts},"room_temp_c":NaN}`);
    }
    case 'wrong_type': {
      const v = rng.int(3);
      if (v === 0) return text(`{"ts":${ts},"room_temp_c":"20.4"}`);
      if (v === 1) return text(`{"ts":${ts},"valve_pct":{"value":50}}`);
      return text(`{"ts":${ts},"battery_pct":[87]}`);
    }
    case 'unknown_apartment': {
      const t = rng.int(4) === 0 ? withUnknownBuilding(topic) : withApartment(topic, `99${String(1 + rng.int(99)).padStart(2, '0')}`);
      return { kind, topic: t, payload: Buffer.from(`{"ts":${ts},"room_temp_c":20.5,"valve_pct":40}`) };
    }
    case 'out_of_range': {
      const v = rng.pick([300, -80, 1e6]);
      return text(`{"ts":${ts},"room_temp_c":${v}}`);
    }
    case 'future_ts': {
      const ahead = Math.max(ts, Math.round(ctx.wallMs)) + (1 + rng.int(30)) * 86_400_000;
      return text(`{"ts":${ahead},"room_temp_c":20.5}`);
    }
    case 'oversize': {
      const head = `{"ts":${ts},"room_temp_c":20.5,"pad":"`;
      return text(`${head}${pad(ctx.oversizeBytes - head.length - 2)}"}`);
    }
  }
}
