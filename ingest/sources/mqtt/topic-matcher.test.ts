import { describe, expect, it } from 'vitest';
import { compileAssetTemplate, filterProblem, TopicMatcher } from './topic-matcher.ts';

describe('TopicMatcher', () => {
  const filters = ['warmgrid/+/+/+/telemetry', 'warmgrid/weather/+/telemetry', 'warmgrid/#', 'spBv1.0/warmgrid/#', 'a/b', '+/b', '#'];
  const m = new TopicMatcher<string>();
  for (const f of filters) m.add(f, f);

  it.each([
    ['warmgrid/ss01/ss01-b2/0302/telemetry', 'warmgrid/+/+/+/telemetry'],
    ['warmgrid/weather/ws1/telemetry', 'warmgrid/weather/+/telemetry'],
    // The first-listed match wins: the 5-level template beats warmgrid/# and #.
    ['warmgrid/weather/ws1/x/telemetry', 'warmgrid/+/+/+/telemetry'],
    ['warmgrid/ss01/ss01-b2/0302/status', 'warmgrid/#'],
    // `#` also matches the parent level (MQTT 5 §4.7.1.2).
    ['warmgrid', 'warmgrid/#'],
    ['spBv1.0/warmgrid/DDATA/edge1/th1', 'spBv1.0/warmgrid/#'],
    ['a/b', 'a/b'],
    ['x/b', '+/b'],
    ['x/y/z', '#'],
    // Empty levels are levels.
    ['warmgrid//', 'warmgrid/#'],
  ])('%s → %s', (topic, want) => {
    expect(m.match(topic)?.value).toBe(want);
  });

  it('returns the topic segments and the template index', () => {
    const r = m.match('warmgrid/ss01/ss01-b2/0302/telemetry')!;
    expect(r.index).toBe(0);
    expect(r.segments).toEqual(['warmgrid', 'ss01', 'ss01-b2', '0302', 'telemetry']);
  });

  it('never matches $-topics with a leading wildcard (MQTT 5 §4.7.2)', () => {
    expect(m.match('$SYS/broker/uptime')).toBeNull();
    const s = new TopicMatcher<string>();
    s.add('$SYS/#', 'sys');
    expect(s.match('$SYS/broker/uptime')?.value).toBe('sys');
  });

  it('matches nothing when no filter fits', () => {
    const s = new TopicMatcher<string>();
    s.add('warmgrid/+/telemetry', 't');
    for (const topic of ['warmgrid/telemetry', 'warmgrid/a/b/telemetry', 'other/a/telemetry', 'warmgrid/a/telemetry/x', '']) expect(s.match(topic)).toBeNull();
  });

  it('rejects duplicate and invalid filters', () => {
    const s = new TopicMatcher<number>();
    s.add('a/+', 1);
    expect(() => s.add('a/+', 2)).toThrow(/duplicate/);
    expect(() => s.add('a/#/b', 3)).toThrow(/last/);
  });

  it('matches with many templates by walking levels, not by trying each template', () => {
    const s = new TopicMatcher<number>();
    for (let i = 0; i < 2000; i++) s.add(`site${i}/+/telemetry`, i);
    expect(s.match('site1999/dev/telemetry')?.value).toBe(1999);
    expect(s.match('site2000/dev/telemetry')).toBeNull();
  });
});

describe('filterProblem', () => {
  it.each([
    ['a/b/c', null],
    ['a/+/c', null],
    ['#', null],
    ['a/#', null],
    ['', /empty/],
    ['a/#/c', /last/],
    ['a/b#', /whole level/],
    ['a/b+/c', /whole level/],
    ['$share/g/a', /shareGroup/],
  ])('%s', (f, want) => {
    const p = filterProblem(f);
    if (want === null) expect(p).toBeNull();
    else expect(p).toMatch(want);
  });
});

describe('compileAssetTemplate', () => {
  const segs = ['warmgrid', 'ss01', 'ss01-b2', '0302', 'telemetry'];
  it.each([
    ['{3}', '0302'],
    ['{2}-{3}', 'ss01-b2-0302'],
    ['ws1', 'ws1'],
    ['x{1}y', 'xss01y'],
    ['{9}', null],
  ])('%s → %s', (tpl, want) => {
    expect(compileAssetTemplate(tpl).render(segs)).toBe(want);
  });

  it('knows fixed templates and the highest level used', () => {
    expect(compileAssetTemplate('ws1').fixed).toBe(true);
    expect(compileAssetTemplate('{2}-{3}').maxIndex).toBe(3);
  });

  it('renders named placeholders for Sparkplug and refuses unknown ones', () => {
    const t = compileAssetTemplate('{node}-{device}', ['group', 'node', 'device']);
    expect(t.render([], { group: 'g', node: 'ss01-b2', device: '0302' })).toBe('ss01-b2-0302');
    expect(t.render([], { group: 'g', node: 'n', device: null })).toBeNull();
    expect(() => compileAssetTemplate('{device}')).toThrow(/unknown placeholder/);
    expect(() => compileAssetTemplate('{2}}')).toThrow(/unbalanced/);
  });
});
