import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ASSET_KINDS, type Asset, type AssetKind } from '../../config/asset-tree.ts';
import { notFound } from '../error-handler.ts';
import { VIEW } from '../roles.ts';
import { AssetId, AssetOut } from '../schemas.ts';
import type { HubServices } from '../services.ts';

const Kind = Type.Union(ASSET_KINDS.map((k) => Type.Literal(k)));

function toOut(a: Asset): typeof AssetOut.static {
  return { id: a.id, kind: a.kind, name: a.name, parent: a.parent, path: [...a.path], childCount: a.children.length, attrs: { ...a.attrs } };
}

export function assetRoutes(app: FastifyInstance, s: HubServices): void {
  app.get(
    '/api/assets',
    {
      config: { access: VIEW },
      schema: {
        tags: ['assets'],
        summary: 'List assets, filtered by kind and by an ancestor',
        querystring: Type.Object(
          {
            kind: Type.Optional(Kind),
            under: Type.Optional(AssetId),
            limit: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 }),
            offset: Type.Integer({ minimum: 0, default: 0 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ total: Type.Integer(), assets: Type.Array(AssetOut) }) },
      },
    },
    async (req) => {
      const q = req.query as { kind?: AssetKind; under?: string; limit: number; offset: number };
      let list: readonly Asset[];
      if (q.under) {
        if (!s.assets.has(q.under)) throw notFound(`unknown asset "${q.under}"`);
        list = s.assets.descendants(q.under, q.kind);
      } else {
        list = q.kind ? s.assets.ofKind(q.kind) : [...s.assets.all()];
      }
      return { total: list.length, assets: list.slice(q.offset, q.offset + q.limit).map(toOut) };
    },
  );

  app.get(
    '/api/assets/:id',
    {
      config: { access: VIEW },
      schema: {
        tags: ['assets'],
        summary: 'One asset with its children and its place in the network',
        params: Type.Object({ id: AssetId }),
        response: { 200: Type.Object({ asset: AssetOut, children: Type.Array(AssetOut), place: Type.Record(Type.String(), Type.String()) }) },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const a = s.assets.get(id);
      if (!a) throw notFound(`unknown asset "${id}"`);
      return { asset: toOut(a), children: a.children.map((c) => toOut(s.assets.get(c)!)), place: s.assets.placeTags(id) };
    },
  );
}
