import sparkplug from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';
import {
  decodeSparkplugPayload,
  encodeRebirthRequest,
  parseSparkplugTopic,
  REBIRTH_METRIC,
  SparkplugSessions,
  type SparkplugMapping,
  type SparkplugPayload,
  type SparkplugTopic,
} from './sparkplug-decoder.ts';

const codec = sparkplug.get('spBv1.0')!;
const T0 = Date.UTC(2026, 0, 15, 6, 0, 0);
const NOW = T0 + 5000;

describe('parseSparkplugTopic', () => {
  it.each([
    ['spBv1.0/g1/NBIRTH/edge1', { group: 'g1', type: 'NBIRTH', node: 'edge1', device: null }],
    ['spBv1.0/g1/DDATA/edge1/th-0302', { group: 'g1', type: 'DDATA', node: 'edge1', device: 'th-0302' }],
    ['spBv1.0/STATE/scada1', 'state'],
    ['spBv1.0/g1/NDATA/edge1/extra', null],
    ['spBv1.0/g1/DDATA/edge1', null],
    ['spBv1.0/g1/HELLO/edge1', null],
    ['spBv1.0/g1', null],
    ['spAv1.0/g1/NDATA/edge1', null],
    ['spBv1.0//NDATA/edge1', null],
  ])('%s', (topic, want) => {
    expect(parseSparkplugTopic(topic.split('/'))).toEqual(want);
  });
});

describe('decodeSparkplugPayload', () => {
  it('turns protobuf Longs into numbers and keeps aliases, timestamps and nulls', () => {
    const bytes = codec.encodePayload({
      timestamp: T0,
      seq: 3,
      metrics: [
        { name: 'bdSeq', type: 'UInt64', value: 7 },
        { name: 'Room/Temp', alias: 1, type: 'Double', value: 20.5, timestamp: T0 - 1000 },
        { alias: 2, type: 'Int64', value: 123456789 },
        { name: 'Heating', alias: 3, type: 'Boolean', value: true },
        { name: 'Missing', alias: 4, type: 'Float', value: null, isNull: true },
      ],
    });
    expect(decodeSparkplugPayload(bytes)).toEqual({
      timestamp: T0,
      seq: 3,
      metrics: [
        { name: 'bdSeq', alias: null, timestamp: null, type: 'UInt64', value: 7 },
        { name: 'Room/Temp', alias: 1, timestamp: T0 - 1000, type: 'Double', value: 20.5 },
        { name: null, alias: 2, timestamp: null, type: 'Int64', value: 123456789 },
        { name: 'Heating', alias: 3, timestamp: null, type: 'Boolean', value: true },
        { name: 'Missing', alias: 4, timestamp: null, type: 'Float', value: null },
      ],
    });
  });

  it('throws on bytes that are not a Sparkplug payload', () => {
    expect(() => decodeSparkplugPayload(Buffer.from('{"room_temp_c": 20}'))).toThrow();
    expect(() => decodeSparkplugPayload(Buffer.from([0x12, 0x03, 0x01, 0x02, 0x03]))).toThrow();
  });

  it('encodes a rebirth request as NCMD Node Control/Rebirth = true', () => {
    const p = decodeSparkplugPayload(encodeRebirthRequest(NOW));
    expect(p.metrics).toEqual([{ name: REBIRTH_METRIC, alias: null, timestamp: null, type: 'Boolean', value: true }]);
  });
});

describe('SparkplugSessions', () => {
  const map: SparkplugMapping = {
    metrics: new Map([
      ['Room/Temp', 'room_temp_c'],
      ['Valve', 'valve_pct'],
      ['Label', 'label'],
    ]),
    asset: (_g, node, device) => (device === null ? (node === 'edge1' ? 'ss01' : null) : ({ th1: 'ss01-b2-0302', th2: 'ss01-b2-0303' } as Record<string, string>)[device] ?? null),
    configuredDevices: (_g, node) => (node === 'edge1' ? ['ss01-b2-0302', 'ss01-b2-0303'] : []),
  };
  const topic = (type: SparkplugTopic['type'], device: string | null = null, node = 'edge1'): SparkplugTopic => ({ group: 'g1', type, node, device });
  const m = (name: string | null, alias: number | null, value: number | boolean | string | null, type = 'Double') => ({ name, alias, timestamp: null, type, value });
  const pl = (seq: number | null, metrics: SparkplugPayload['metrics'], timestamp: number | null = T0): SparkplugPayload => ({ timestamp, seq, metrics });

  function born(): SparkplugSessions {
    const s = new SparkplugSessions('mqtt:test');
    s.handle(topic('NBIRTH'), pl(0, [m('bdSeq', null, 4, 'UInt64'), m('Room/Temp', 1, 20), m('Valve', 2, 55, 'Int32')]), map, NOW);
    s.handle(topic('DBIRTH', 'th1'), pl(1, [m('Room/Temp', 10, 19.5), m('Valve', 11, 40, 'Int32'), m('Other', 12, 1)]), map, NOW);
    return s;
  }

  it('births define aliases; data by alias becomes readings of the mapped asset', () => {
    const s = new SparkplugSessions('mqtt:test');
    const nb = s.handle(topic('NBIRTH'), pl(0, [m('bdSeq', null, 4, 'UInt64'), m('Room/Temp', 1, 20), m('Valve', 2, 55, 'Int32')]), map, NOW);
    expect(nb.readings).toEqual([{ asset: 'ss01', ts: T0, fields: { room_temp_c: 20, valve_pct: 55 }, quality: 'good', source: 'mqtt:test' }]);
    const db = s.handle(topic('DBIRTH', 'th1'), pl(1, [m('Room/Temp', 10, 19.5), m('Valve', 11, 40, 'Int32'), m('Other', 12, 1)]), map, NOW);
    expect(db.readings.map((r) => [r.asset, { ...r.fields }])).toEqual([['ss01-b2-0302', { room_temp_c: 19.5, valve_pct: 40 }]]);
    const dd = s.handle(topic('DDATA', 'th1'), pl(2, [{ ...m(null, 10, 19.7), timestamp: T0 + 1000 }, m(null, 11, 45, 'Int32')]), map, NOW);
    expect(dd.readings.map((r) => [r.ts, { ...r.fields }])).toEqual([
      [T0 + 1000, { room_temp_c: 19.7 }],
      [T0, { valve_pct: 45 }],
    ]);
    expect(dd.problems).toEqual([]);
    expect(dd.rebirth).toBeNull();
    expect(s.onlineNodes).toBe(1);
  });

  type Case = [string, (s: SparkplugSessions) => ReturnType<SparkplugSessions['handle']>, { reasons: string[]; rebirth: boolean; readings: number }];
  const cases: Case[] = [
    ['NDATA before NBIRTH', () => new SparkplugSessions('x').handle(topic('NDATA'), pl(1, [m(null, 1, 20)]), map, NOW), { reasons: ['sparkplug_no_birth'], rebirth: true, readings: 0 }],
    ['DDATA before DBIRTH', (s) => s.handle(topic('DDATA', 'th2'), pl(2, [m(null, 10, 20)]), map, NOW), { reasons: ['sparkplug_no_birth'], rebirth: true, readings: 0 }],
    ['seq gap (data still used)', (s) => s.handle(topic('DDATA', 'th1'), pl(5, [m(null, 10, 20)]), map, NOW), { reasons: ['sparkplug_seq'], rebirth: true, readings: 1 }],
    ['seq wraps 255 → 0', (s) => {
      s.handle(topic('NBIRTH'), pl(254, [m('bdSeq', null, 4, 'UInt64')]), map, NOW);
      s.handle(topic('NDATA'), pl(255, []), map, NOW);
      return s.handle(topic('NDATA'), pl(0, [m('Room/Temp', null, 21)]), map, NOW);
    }, { reasons: [], rebirth: false, readings: 1 }],
    ['unknown alias', (s) => s.handle(topic('DDATA', 'th1'), pl(2, [m(null, 99, 20)]), map, NOW), { reasons: ['sparkplug_alias'], rebirth: true, readings: 0 }],
    ['string metric mapped to a field', (s) => s.handle(topic('NDATA'), pl(2, [m('Label', null, 'abc', 'String')]), map, NOW), { reasons: ['wrong_type'], rebirth: false, readings: 0 }],
    ['device mapped to no asset', (s) => {
      s.handle(topic('DBIRTH', 'th9'), pl(2, [m('Valve', 20, 1, 'Int32')]), map, NOW);
      return s.handle(topic('DDATA', 'th9'), pl(3, [m(null, 20, 2, 'Int32')]), map, NOW);
    }, { reasons: ['unknown_device'], rebirth: false, readings: 0 }],
    ['unmapped metrics are ignored quietly', (s) => s.handle(topic('DDATA', 'th1'), pl(2, [m(null, 12, 5)]), map, NOW), { reasons: [], rebirth: false, readings: 0 }],
    ['stale NDEATH (bdSeq mismatch)', (s) => s.handle(topic('NDEATH'), pl(null, [m('bdSeq', null, 3, 'UInt64')]), map, NOW), { reasons: ['sparkplug_bdseq'], rebirth: true, readings: 0 }],
  ];
  it.each(cases)('%s', (_n, run, want) => {
    const out = run(born());
    expect(out.problems.map((p) => p.reason)).toEqual(want.reasons);
    expect(out.rebirth !== null).toBe(want.rebirth);
    expect(out.readings.length).toBe(want.readings);
  });

  it('NDEATH with the birth bdSeq marks the node and all its devices bad, and data after it needs a new birth', () => {
    const s = born();
    const out = s.handle(topic('NDEATH'), pl(null, [m('bdSeq', null, 4, 'UInt64')], null), map, NOW);
    expect(out.problems).toEqual([]);
    expect(out.readings).toEqual(
      ['ss01', 'ss01-b2-0302', 'ss01-b2-0303'].map((asset) => ({ asset, ts: NOW, fields: {}, quality: 'bad', source: 'mqtt:test' })),
    );
    expect(s.onlineNodes).toBe(0);
    expect(s.handle(topic('NDATA'), pl(3, [m(null, 1, 20)]), map, NOW).problems.map((p) => p.reason)).toEqual(['sparkplug_no_birth']);
  });

  it('NDEATH of a node never seen still marks its configured assets bad', () => {
    const out = new SparkplugSessions('x').handle(topic('NDEATH'), pl(null, [m('bdSeq', null, 9, 'UInt64')]), map, NOW);
    expect(out.readings.map((r) => [r.asset, r.quality])).toEqual([
      ['ss01', 'bad'],
      ['ss01-b2-0302', 'bad'],
      ['ss01-b2-0303', 'bad'],
    ]);
  });

  it('DDEATH marks only that device bad and forgets its aliases', () => {
    const s = born();
    const out = s.handle(topic('DDEATH', 'th1'), pl(2, []), map, NOW);
    expect(out.readings).toEqual([{ asset: 'ss01-b2-0302', ts: T0, fields: {}, quality: 'bad', source: 'mqtt:test' }]);
    expect(s.handle(topic('DDATA', 'th1'), pl(3, [m(null, 10, 20)]), map, NOW).problems.map((p) => p.reason)).toEqual(['sparkplug_no_birth']);
  });

  it('a new NBIRTH replaces the old session (new aliases, new bdSeq)', () => {
    const s = born();
    s.handle(topic('NBIRTH'), pl(0, [m('bdSeq', null, 5, 'UInt64'), m('Valve', 1, 10, 'Int32')]), map, NOW);
    const d = s.handle(topic('NDATA'), pl(1, [m(null, 1, 11, 'Int32')]), map, NOW);
    expect(d.readings.map((r) => ({ ...r.fields }))).toEqual([{ valve_pct: 11 }]);
    expect(s.handle(topic('NDEATH'), pl(null, [m('bdSeq', null, 4, 'UInt64')]), map, NOW).problems.map((p) => p.reason)).toEqual(['sparkplug_bdseq']);
  });
});
