import { describe, expect, it } from 'vitest';
import { fluxString, fluxTime, historyFlux, latestFlux } from './flux.ts';

const T0 = Date.UTC(2026, 0, 15);

describe('Flux text', () => {
  it('quotes strings so no input ends the literal or interpolates', () => {
    expect(fluxString('a"b\\c${x}$y')).toBe('"a\\"b\\\\c\\${x}$y"');
    expect(fluxTime(T0 + 1)).toBe('2026-01-15T00:00:00.001Z');
    expect(fluxTime(-1e20)).toBe('1677-09-21T00:12:43.146Z');
  });

  it('history, bucketed, with a limit', () => {
    const q = historyFlux('tele', 'substation', { asset: 'ss01', fields: ['supply_temp_c', 'pump_on'], from: T0, to: T0 + 3_600_000, bucket: '15m', aggregate: 'max', limit: 4 });
    expect(q).toBe(
      [
        'import "types"',
        '',
        'from(bucket: "tele")',
        '  |> range(start: 2026-01-15T00:00:00.000Z, stop: 2026-01-15T01:00:00.000Z)',
        '  |> filter(fn: (r) => r._measurement == "substation" and r.asset == "ss01")',
        '  |> filter(fn: (r) => r._field == "supply_temp_c" or r._field == "pump_on")',
        '  |> filter(fn: (r) => r.quality != "bad")',
        '  |> filter(fn: (r) => types.isType(v: r._value, type: "float") or types.isType(v: r._value, type: "bool"))',
        '  |> toFloat()',
        '  |> group(columns: ["_field"])',
        '  |> sort(columns: ["_time"])',
        '  |> aggregateWindow(every: 15m, fn: max, createEmpty: false, timeSrc: "_start")',
        '  |> tail(n: 4)',
        '  |> keep(columns: ["_time", "_value", "_field"])',
      ].join('\n'),
    );
  });

  it('history, raw, without a limit', () => {
    const q = historyFlux('b', 'apartment', { asset: 'x', fields: ['t'], from: T0, to: T0 + 1, bucket: 'raw', aggregate: 'mean' });
    expect(q).not.toContain('aggregateWindow');
    expect(q).not.toContain('tail');
    expect(q).toContain('|> sort(columns: ["_time"])\n  |> keep(');
  });

  it('latest for some assets or for all', () => {
    expect(latestFlux('b', ['ss01', 'ss02'])).toBe(
      [
        'from(bucket: "b")',
        '  |> range(start: 1970-01-01T00:00:00.000Z, stop: 2200-01-01T00:00:00.000Z)',
        '  |> filter(fn: (r) => r.asset == "ss01" or r.asset == "ss02")',
        '  |> last()',
      ].join('\n'),
    );
    expect(latestFlux('b')).toContain('filter(fn: (r) => exists r.asset and exists r.quality)');
  });
});
