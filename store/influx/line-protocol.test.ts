import { describe, expect, it } from 'vitest';
import { AssetTree } from '../../config/asset-tree.ts';
import type { Reading } from '../../ingest/reading.ts';
import { smallNetwork } from '../../test/helpers/small-network.ts';
import { flatPlaces, LineEncoder, treePlaces } from './line-protocol.ts';

const T = Date.UTC(2026, 0, 15);

function r(asset: string, fields: Reading['fields'], quality: Reading['quality'] = 'good', ts = T): Reading {
  return { asset, ts, fields, quality, source: 'test:x' };
}

describe('LineEncoder', () => {
  const enc = new LineEncoder(treePlaces(new AssetTree(smallNetwork)));

  it.each([
    ['substation: kind, asset, place tags sorted, quality', r('ss01', { supply_temp_c: 71.2 }), `substation,asset=ss01,heat_source=hs1,network=net1,quality=good supply_temp_c=71.2 ${T}`],
    [
      'apartment: every ancestor but the company',
      r('ss01-b1-0102', { room_temp_c: 20.5 }, 'uncertain'),
      `apartment,asset=ss01-b1-0102,building=ss01-b1,heat_source=hs1,network=net1,quality=uncertain,substation=ss01 room_temp_c=20.5 ${T}`,
    ],
    ['weather station under the company: no place tags', r('wx1', { outdoor_temp_c: -3 }), `weather_station,asset=wx1,quality=good outdoor_temp_c=-3 ${T}`],
    ['integers stay floats, booleans and strings typed', r('ss01', { n: 5, on: true, off: false, mode: 'auto "eco" \\ x' }), `substation,asset=ss01,heat_source=hs1,network=net1,quality=good n=5,on=true,off=false,mode="auto \\"eco\\" \\\\ x" ${T}`],
    ['bad quality is kept as a tag', r('ss01', { x: 1 }, 'bad'), `substation,asset=ss01,heat_source=hs1,network=net1,quality=bad x=1 ${T}`],
    ['unknown asset: measurement "asset"', r('nowhere', { x: 1 }), `asset,asset=nowhere,quality=good x=1 ${T}`],
    ['fractional milliseconds are cut', r('wx1', { x: 1 }, 'good', T + 0.7), `weather_station,asset=wx1,quality=good x=1 ${T}`],
  ])('%s', (_name, reading, line) => {
    expect(enc.encode([reading])).toEqual({ lines: [line], skippedReadings: 0, skippedValues: 0 });
  });

  it('escapes tag values and leaves out non-finite numbers and readings with nothing to store', () => {
    const e = new LineEncoder(() => ({ measurement: 'my kind,x', tags: { site: 'a b=c', empty: '' } }));
    const out = e.encode([
      r('ss 1', { x: Number.NaN, y: Infinity, z: 2 }),
      r('ss2', { x: Number.NaN }),
      r('ss3', {}),
      { ...r('ss4', { x: 1 }), ts: Number.NaN },
    ]);
    expect(out).toEqual({ lines: [`my\\ kind\\,x,asset=ss\\ 1,quality=good,site=a\\ b\\=c z=2 ${T}`], skippedReadings: 3, skippedValues: 3 });
  });

  it('gives the same line for the same reading every time (retries overwrite, never add)', () => {
    const batch = [r('ss01', { a: 1, b: true }), r('wx1', { t: -1.5 }, 'uncertain', T + 1000)];
    expect(enc.encode(batch)).toEqual(enc.encode(structuredClone(batch)));
    expect(new LineEncoder(flatPlaces('m')).encode(batch).lines).toEqual([`m,asset=ss01,quality=good a=1,b=true ${T}`, `m,asset=wx1,quality=uncertain t=-1.5 ${T + 1000}`]);
  });
});
