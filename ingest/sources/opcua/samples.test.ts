import { describe, expect, it } from 'vitest';
import { assemble, fieldValueOf } from './samples.ts';
import { STATUS } from './status.ts';

const T = Date.UTC(2026, 0, 15, 8, 0, 0);
const GOOD = STATUS.Good;
const UNCERTAIN = STATUS.UncertainLastUsableValue;
const BAD = STATUS.BadSensorFailure;

describe('assemble', () => {
  it('makes one reading of the values of one tick, with the source timestamp', () => {
    const a = assemble('ss11', 'opcua:ss11', [
      { field: 'a_c', value: 1.5, status: GOOD, ts: T },
      { field: 'b_c', value: true, status: GOOD, ts: T },
    ]);
    expect(a.readings).toEqual([{ asset: 'ss11', ts: T, fields: { a_c: 1.5, b_c: true }, quality: 'good', source: 'opcua:ss11' }]);
    expect(a).toMatchObject({ dropped: 0, commFailure: false, answered: true });
  });

  it('splits by timestamp and quality: time order, and bad before uncertain before good at one time', () => {
    const a = assemble('ss11', 'opcua:ss11', [
      { field: 'g_c', value: 1, status: GOOD, ts: T + 1000 },
      { field: 'u_c', value: 2, status: UNCERTAIN, ts: T + 1000 },
      { field: 'b_c', value: 3, status: BAD, ts: T + 1000 },
      { field: 'old_c', value: 4, status: GOOD, ts: T },
    ]);
    expect(a.readings.map((r) => [r.ts - T, r.quality, Object.keys(r.fields).join()])).toEqual([
      [0, 'good', 'old_c'],
      [1000, 'bad', 'b_c'],
      [1000, 'uncertain', 'u_c'],
      [1000, 'good', 'g_c'],
    ]);
  });

  it('leaves out Bad values without a value (Part 4 §7.7.1), and NaN', () => {
    const a = assemble('ss11', 'opcua:ss11', [
      { field: 'dead_c', value: null, status: BAD, ts: T },
      { field: 'nan_c', value: NaN, status: GOOD, ts: T },
      { field: 'ok_c', value: 7, status: GOOD, ts: T },
    ]);
    expect(a.readings).toHaveLength(1);
    expect(a.readings[0]!.fields).toEqual({ ok_c: 7 });
    expect(a.dropped).toBe(2);
  });

  it('reports a communication status as comm failure, not as a value', () => {
    const a = assemble('ss11', 'opcua:ss11', [{ field: 'a_c', value: 5, status: STATUS.BadNoCommunication, ts: T }]);
    expect(a).toEqual({ readings: [], dropped: 0, commFailure: true, answered: false });
  });

  it('keeps the last of several queued values of a field at one time', () => {
    const a = assemble('ss11', 'opcua:ss11', [
      { field: 'a_c', value: 1, status: GOOD, ts: T },
      { field: 'a_c', value: 2, status: GOOD, ts: T },
    ]);
    expect(a.readings[0]!.fields).toEqual({ a_c: 2 });
  });
});

describe('fieldValueOf', () => {
  it.each([
    ['a double', 1.25, false, 1.25],
    ['infinity', Infinity, false, null],
    ['a boolean', true, false, true],
    ['a string', 'on', false, 'on'],
    ['a bigint', BigInt(12), false, 12],
    ['a date', new Date(T), false, T],
    ['an Int64 as [high, low]', [1, 5], true, 0x1_0000_0005],
    ['a negative Int64', [-1, 0xffff_fffe], true, -2],
    ['an array that is not an Int64', [1, 5], false, null],
    ['null', null, false, null],
    ['a structure', { text: 'x' }, false, null],
  ])('%s', (_name, value, int64, expected) => {
    expect(fieldValueOf(value, int64)).toEqual(expected);
  });
});
