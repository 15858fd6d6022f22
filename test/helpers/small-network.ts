import type { NetworkFile } from '../../config/schema.ts';

/** A network small enough to reason about in a unit test: one substation (ss01) with one building of four flats (ss01-b1-0101 … 0202) and a weather station (wx1). */
export const smallNetwork = {
  company: { id: 'co', name: 'Co' },
  climate: { city: 'Jinan', designOutdoorC: -5.3, seasonStart: '11-15', seasonEnd: '03-15' },
  heatSources: [
    {
      id: 'hs1',
      name: 'CHP',
      kind: 'chp',
      networks: [
        {
          id: 'net1',
          name: 'Net',
          substations: [
            { id: 'ss01', name: 'S1', emitter: 'radiator', buildings: [{ id: 'ss01-b1', name: 'B1', floors: 2, unitsPerFloor: 2, apartmentAreaM2: 90, insulation: 'average', suspended: [] }] },
          ],
        },
      ],
    },
  ],
  weatherStations: [{ id: 'wx1', name: 'Weather' }],
} as NetworkFile;
