/**
 * Large synthetic networks for load and CPU measurements, generated in memory as a network file (the same shape as
 * config/demo/network.yaml): `substations` × `buildingsPerSubstation` buildings of `floors` × `unitsPerFloor` flats.
 * The default is 200 substations × 5 buildings × 20 floors × 5 flats = 100,000 apartments.
 */

export interface SyntheticNetworkOptions {
  substations?: number;
  buildingsPerSubstation?: number;
  floors?: number;
  unitsPerFloor?: number;
  weatherStations?: number;
}

export function syntheticNetwork(opts: SyntheticNetworkOptions = {}): Record<string, unknown> {
  const substations = opts.substations ?? 200;
  const perSubstation = opts.buildingsPerSubstation ?? 5;
  const floors = opts.floors ?? 20;
  const units = opts.unitsPerFloor ?? 5;
  const insulation = ['good', 'average', 'poor'] as const;
  const pad = (n: number): string => String(n + 1).padStart(String(substations).length, '0');
  return {
    company: { id: 'synthetic', name: 'Synthetic Heating' },
    climate: { city: 'Jinan', designOutdoorC: -5.3 },
    heatSources: [
      {
        id: 'hs1',
        name: 'Plant',
        networks: [
          {
            id: 'net1',
            name: 'Network',
            substations: Array.from({ length: substations }, (_, s) => ({
              id: `s${pad(s)}`,
              name: `Substation ${s + 1}`,
              emitter: s % 7 === 6 ? 'floor' : 'radiator',
              buildings: Array.from({ length: perSubstation }, (_, b) => ({
                id: `s${pad(s)}-b${b + 1}`,
                name: `Building ${b + 1}`,
                floors,
                unitsPerFloor: units,
                apartmentAreaM2: 80 + 10 * (b % 4),
                insulation: insulation[(s + b) % 3],
                suspended: b === 0 && floors >= 5 && units >= 2 ? ['0302', '0501'] : [],
              })),
            })),
          },
        ],
      },
    ],
    weatherStations: Array.from({ length: opts.weatherStations ?? 1 }, (_, k) => ({ id: `ws${k + 1}`, name: `Weather ${k + 1}` })),
  };
}
