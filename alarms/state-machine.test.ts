import { describe, expect, it } from 'vitest';
import { computeKpis, type KpiEvent } from './kpi.ts';
import { ALARM_STATES, isActive, nextState, type AlarmState, type ProcessEvent } from './state-machine.ts';

describe('ISA-18.2 state machine', () => {
  it.each<[AlarmState, ProcessEvent, AlarmState | null]>([
    ['normal', 'activate', 'unack'],
    ['normal', 'clear', 'normal'],
    ['normal', 'ack', null],
    ['unack', 'ack', 'ack'],
    ['unack', 'clear', 'rtn_unack'],
    ['unack', 'activate', 'unack'],
    ['ack', 'clear', 'normal'],
    ['ack', 'activate', 'ack'],
    ['ack', 'ack', null],
    ['rtn_unack', 'ack', 'normal'],
    ['rtn_unack', 'activate', 'unack'],
    ['rtn_unack', 'clear', 'rtn_unack'],
  ])('%s --%s--> %s', (from, ev, to) => {
    expect(nextState(from, ev)).toBe(to);
  });

  it('every path from normal returns to normal only through both clear and acknowledge', () => {
    for (const s of ALARM_STATES) expect(isActive(s)).toBe(s === 'unack' || s === 'ack');
    let s: AlarmState = 'normal';
    for (const ev of ['activate', 'clear', 'activate', 'ack', 'clear'] as ProcessEvent[]) s = nextState(s, ev) ?? s;
    expect(s).toBe('normal');
  });
});

describe('EEMUA 191 KPIs', () => {
  const T0 = Date.UTC(2026, 0, 15);
  const MIN = 60_000;
  const act = (min: number, rule = 'r1', asset = 'a1', priority = 'low', id = `${rule}-${asset}-${min}`): KpiEvent => ({ ts: T0 + min * MIN, alarmId: id, ruleId: rule, asset, priority, event: 'activate' });
  const clr = (min: number, id: string): KpiEvent => ({ ts: T0 + min * MIN, alarmId: id, ruleId: '', asset: '', priority: '', event: 'clear' });

  it('rates, floods (start above 10, end below 5 per 10 min), priority split and bad actors', () => {
    const ev: KpiEvent[] = [];
    // A flood: 12 in the first 10 minutes, 6 in the next (still flooding), 2 in the third (ends).
    for (let i = 0; i < 12; i++) ev.push(act(i * 0.5, 'flood', `s${i}`, 'medium'));
    for (let i = 0; i < 6; i++) ev.push(act(10 + i, 'flood', `t${i}`, 'medium'));
    ev.push(act(21, 'x', 'a', 'high'), act(22, 'x', 'a', 'critical'));
    const k = computeKpis(ev, [], { from: T0, to: T0 + 60 * MIN, now: T0 + 60 * MIN, operators: 2 });
    expect(k.activations).toBe(20);
    expect(k.rate.per10Min).toBeCloseTo(20 / 6, 3);
    expect(k.rate.per10MinPerOperator).toBeCloseTo(20 / 12, 3);
    expect(k.rate.peak10Min).toBe(12);
    expect(k.floods.episodes).toBe(1);
    expect(k.floods.longestMin).toBe(20);
    expect(k.floods.timeShare).toBeCloseTo(2 / 6, 3);
    expect(k.prioritySplit).toEqual({ low: 0, medium: 0.9, high: 0.05, critical: 0.05 });
    expect(k.topBadActors[0]).toEqual({ ruleId: 'x', asset: 'a', count: 2, share: 0.1 });
  });

  it('chattering (≥ 3 activations of one point within a minute), fleeting (cleared within 10 s) and stale (> 24 h)', () => {
    const ev: KpiEvent[] = [act(1, 'c', 'p', 'low', 'o1'), clr(1.05, 'o1'), act(1.3, 'c', 'p', 'low', 'o1'), clr(1.5, 'o1'), act(1.9, 'c', 'p', 'low', 'o1'), act(5, 'd', 'q', 'low', 'o2'), act(7, 'd', 'q', 'low', 'o3')];
    const k = computeKpis(ev, [{ activatedAt: T0 - 25 * 60 * MIN, active: true }, { activatedAt: T0 - 25 * 60 * MIN, active: false }, { activatedAt: T0, active: true }], {
      from: T0,
      to: T0 + 10 * MIN,
      now: T0 + 10 * MIN,
      operators: 1,
    });
    expect(k.chattering.points).toBe(1);
    expect(k.chattering.top[0]).toMatchObject({ ruleId: 'c', asset: 'p', maxPerMinute: 3 });
    expect(k.fleeting.count).toBe(1);
    expect(k.stale).toBe(1);
  });
});
