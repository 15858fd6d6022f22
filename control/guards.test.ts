import { describe, expect, it } from 'vitest';
import { allPass, autoTarget, checkWrite, failedSummary, type GuardInput, type WriteBounds } from './guards.ts';

const B: WriteBounds = { min: 30, max: 85, maxStep: 5, maxRatePerH: 8 };

function input(over: Partial<GuardInput> = {}): GuardInput {
  return {
    now: 0,
    point: 'supply_temp_setpoint_c',
    unit: '°C',
    value: 62,
    enabled: true,
    writable: { min: 20, max: 90 },
    current: 60,
    currentAgeMs: 2000,
    maxCurrentAgeMs: 60_000,
    recentChanges: [],
    ...over,
  };
}

const failed = (over: Partial<GuardInput>, b = B) =>
  checkWrite(input(over), b)
    .filter((c) => !c.ok)
    .map((c) => c.name);

describe('write guards', () => {
  it('passes a small change to an enabled substation', () => {
    const checks = checkWrite(input(), B);
    expect(allPass(checks)).toBe(true);
    expect(checks.map((c) => c.name)).toEqual(['writer', 'enabled', 'value', 'min', 'max', 'current', 'step', 'rate']);
  });

  it.each([
    [{ enabled: false }, ['enabled']],
    [{ writable: null }, ['writer']],
    [{ value: 29 }, ['min', 'step', 'rate']],
    [{ value: 86, current: 84 }, ['max']],
    [{ value: 66 }, ['step']],
    [{ value: 64, recentChanges: [3, 2] }, ['rate']],
    [{ current: null, currentAgeMs: null }, ['current', 'step', 'rate']],
    [{ currentAgeMs: 120_000 }, ['current']],
    [{ value: Number.NaN }, ['value', 'min', 'max', 'step', 'rate']],
    [{ advice: { valid: true, ageMs: 3_600_000, maxAgeMs: 1_800_000 } }, ['advice']],
  ] as [Partial<GuardInput>, string[]][])('refuses %j for %j', (over, names) => {
    expect(failed(over)).toEqual(names);
  });

  it('takes the tighter of the curve bounds and the device template bounds', () => {
    expect(failed({ value: 63, writable: { min: 20, max: 62 } })).toEqual(['max']);
    expect(failedSummary(checkWrite(input({ value: 63, writable: { max: 62 } }), B))).toContain('≤ 62');
  });
});

describe('auto mode target', () => {
  const auto: WriteBounds = { min: 30, max: 85, maxStep: 1, maxRatePerH: 3 };

  it('moves at most one auto step toward the advice, within the rate left this hour', () => {
    expect(autoTarget(60, 64, [], auto, 0.5)).toBe(61);
    expect(autoTarget(60, 57, [], auto, 0.5)).toBe(59);
    expect(autoTarget(60, 64, [1, 1.5], auto, 0.5)).toBe(60.5);
    expect(autoTarget(60, 64, [1, 1, 1], auto, 0.5)).toBeNull();
  });

  it('does not chatter inside the deadband', () => {
    expect(autoTarget(60, 60.3, [], auto, 0.5)).toBeNull();
  });
});
