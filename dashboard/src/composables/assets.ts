/** The asset tree as the pages need it: lists by kind, one asset with its place, and names in the page's language. */
import { api, qs } from '../api/http.ts';
import type { Asset, AssetDetail } from '../api/types.ts';
import type { Locale } from '../i18n/index.ts';

export async function assetsOfKind(kind: string, under?: string): Promise<Asset[]> {
  const out: Asset[] = [];
  const page = 10_000;
  for (let offset = 0; ; offset += page) {
    const r = await api<{ total: number; assets: Asset[] }>(`/api/assets${qs({ kind, under, limit: page, offset })}`);
    out.push(...r.assets);
    if (out.length >= r.total || r.assets.length === 0) return out;
  }
}

const detailCache = new Map<string, Promise<AssetDetail | null>>();

/** One asset with its ancestors (cached per page load; used to place an apartment's alarm under its substation). */
export function assetDetail(id: string): Promise<AssetDetail | null> {
  let p = detailCache.get(id);
  if (!p) {
    p = api<AssetDetail>(`/api/assets/${encodeURIComponent(id)}`).catch(() => null);
    detailCache.set(id, p);
    if (detailCache.size > 5000) detailCache.delete(detailCache.keys().next().value!);
  }
  return p;
}

/**
 * Names in the demo network carry both languages, "历山换热站 (Lishan substation)": show the part for the page's
 * language. Other names are shown as they are.
 */
export function localName(name: string, locale: Locale): string {
  const m = /^(.*\p{Script=Han}.*?)\s*\(([^()]*[A-Za-z][^()]*)\)\s*$/u.exec(name);
  if (!m) return name;
  return locale === 'zh-CN' ? m[1]!.trim() : m[2]!.trim();
}
