/**
 * Small networks for the model's tests: one heat source, one or two substations, a few buildings with suspended flats,
 * so a simulated day takes a fraction of a second.
 */

export function smallNetwork(opts: { floorSubstation?: boolean } = {}): Record<string, unknown> {
  const substations: Record<string, unknown>[] = [
    {
      id: 'ss1',
      name: 'Test substation',
      emitter: 'radiator',
      buildings: [
        { id: 'ss1-b1', name: 'B1', floors: 6, unitsPerFloor: 3, apartmentAreaM2: 90, insulation: 'average', suspended: ['0302'] },
        { id: 'ss1-b2', name: 'B2', floors: 11, unitsPerFloor: 4, apartmentAreaM2: 85, insulation: 'poor', suspended: ['0501'] },
        { id: 'ss1-b3', name: 'B3', floors: 6, unitsPerFloor: 4, apartmentAreaM2: 110, insulation: 'good', suspended: [] },
      ],
    },
  ];
  if (opts.floorSubstation) {
    substations.push({
      id: 'ss2',
      name: 'Floor heating substation',
      emitter: 'floor',
      buildings: [{ id: 'ss2-b1', name: 'F1', floors: 8, unitsPerFloor: 4, apartmentAreaM2: 95, insulation: 'good', suspended: ['0402'] }],
    });
  }
  return {
    company: { id: 'co', name: 'Test Heating' },
    climate: { city: 'Jinan', designOutdoorC: -5.3 },
    heatSources: [{ id: 'hs1', name: 'Plant', kind: 'chp', networks: [{ id: 'net1', name: 'Net', substations }] }],
    weatherStations: [{ id: 'ws1', name: 'Station' }],
  };
}

/** Steady design conditions: outdoor at t_w′ = −5.3 °C, no sun, so rooms settle. */
export const DESIGN_WEATHER = { fixedOutdoorC: -5.3, solarScale: 0 } as const;

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
