/**
 * The asset tree built from network.yaml: company → heat source → network → substation → building → apartment,
 * plus weather stations under the company. Every series, alarm, ticket and advice points at one of these ids.
 * Built once at start-up; read-only afterwards, so lookups are plain map reads.
 */
import type { NetworkFile } from './schema.ts';

export const ASSET_KINDS = ['company', 'heat_source', 'network', 'substation', 'building', 'apartment', 'weather_station'] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

export type AttrValue = string | number | boolean;

export interface Asset {
  readonly id: string;
  readonly kind: AssetKind;
  readonly name: string;
  readonly parent: string | null;
  /** Ancestor ids from the root down to the parent. */
  readonly path: readonly string[];
  readonly children: string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/** Default design heat index (W/m²) by insulation class, within DOMAIN.md §3's 45–70 W/m². */
export const HEAT_INDEX_BY_INSULATION = { good: 45, average: 57, poor: 70 } as const;

export class AssetTree {
  readonly #assets = new Map<string, Asset>();
  readonly #byKind = new Map<AssetKind, Asset[]>();
  readonly rootId: string;

  constructor(network: NetworkFile) {
    const c = network.company;
    this.rootId = c.id;
    this.#add({ id: c.id, kind: 'company', name: c.name, parent: null, attrs: { city: network.climate.city, designOutdoorC: network.climate.designOutdoorC } });
    for (const hs of network.heatSources) {
      this.#add({ id: hs.id, kind: 'heat_source', name: hs.name, parent: c.id, attrs: { sourceKind: hs.kind } });
      for (const net of hs.networks) {
        this.#add({ id: net.id, kind: 'network', name: net.name, parent: hs.id, attrs: {} });
        for (const ss of net.substations) {
          const attrs: Record<string, AttrValue> = { emitter: ss.emitter };
          if (ss.position) {
            attrs['x'] = ss.position.x;
            attrs['y'] = ss.position.y;
          }
          this.#add({ id: ss.id, kind: 'substation', name: ss.name, parent: net.id, attrs });
          for (const b of ss.buildings) {
            const heatIndex = b.heatIndexWm2 ?? HEAT_INDEX_BY_INSULATION[b.insulation];
            this.#add({
              id: b.id,
              kind: 'building',
              name: b.name,
              parent: ss.id,
              attrs: { floors: b.floors, unitsPerFloor: b.unitsPerFloor, insulation: b.insulation, heatIndexWm2: heatIndex },
            });
            const suspended = new Set(b.suspended);
            for (let floor = 1; floor <= b.floors; floor++) {
              for (let unit = 1; unit <= b.unitsPerFloor; unit++) {
                const no = apartmentNumber(floor, unit);
                this.#add({
                  id: `${b.id}-${no}`,
                  kind: 'apartment',
                  name: no,
                  parent: b.id,
                  attrs: {
                    floor,
                    unit,
                    areaM2: b.apartmentAreaM2,
                    account: suspended.has(no) ? 'suspended' : 'active',
                    top: floor === b.floors,
                    ground: floor === 1,
                    endUnit: unit === 1 || unit === b.unitsPerFloor,
                  },
                });
              }
            }
          }
        }
      }
    }
    for (const ws of network.weatherStations) {
      this.#add({ id: ws.id, kind: 'weather_station', name: ws.name, parent: c.id, attrs: {} });
    }
  }

  #add(a: { id: string; kind: AssetKind; name: string; parent: string | null; attrs: Record<string, AttrValue> }): void {
    if (this.#assets.has(a.id)) throw new Error(`duplicate asset id "${a.id}"`);
    const parent = a.parent === null ? undefined : this.#assets.get(a.parent);
    const asset: Asset = { ...a, path: parent ? [...parent.path, parent.id] : [], children: [] };
    this.#assets.set(a.id, asset);
    parent?.children.push(a.id);
    let list = this.#byKind.get(a.kind);
    if (!list) this.#byKind.set(a.kind, (list = []));
    list.push(asset);
  }

  get size(): number {
    return this.#assets.size;
  }

  get(id: string): Asset | undefined {
    return this.#assets.get(id);
  }

  has(id: string): boolean {
    return this.#assets.has(id);
  }

  ofKind(kind: AssetKind): readonly Asset[] {
    return this.#byKind.get(kind) ?? [];
  }

  /** The nearest ancestor (or the asset itself) of the given kind. */
  ancestorOfKind(id: string, kind: AssetKind): Asset | undefined {
    const a = this.#assets.get(id);
    if (!a) return undefined;
    if (a.kind === kind) return a;
    for (let i = a.path.length - 1; i >= 0; i--) {
      const p = this.#assets.get(a.path[i]!);
      if (p?.kind === kind) return p;
    }
    return undefined;
  }

  /** All descendants of `id`, optionally only those of one kind, depth-first. */
  descendants(id: string, kind?: AssetKind): Asset[] {
    const out: Asset[] = [];
    const stack = [...(this.#assets.get(id)?.children ?? [])].reverse();
    while (stack.length > 0) {
      const a = this.#assets.get(stack.pop()!)!;
      if (!kind || a.kind === kind) out.push(a);
      for (let i = a.children.length - 1; i >= 0; i--) stack.push(a.children[i]!);
    }
    return out;
  }

  /** Tags that place an asset in the network (for InfluxDB and for filtering): its ancestors by kind. */
  placeTags(id: string): Record<string, string> {
    const a = this.#assets.get(id);
    const tags: Record<string, string> = {};
    if (!a) return tags;
    for (const pid of a.path) {
      const p = this.#assets.get(pid)!;
      if (p.kind !== 'company') tags[p.kind] = p.id;
    }
    return tags;
  }

  all(): IterableIterator<Asset> {
    return this.#assets.values();
  }
}

export function apartmentNumber(floor: number, unit: number): string {
  return `${String(floor).padStart(2, '0')}${String(unit).padStart(2, '0')}`;
}
