import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { WarmgridError } from '../../core/errors.ts';
import { REJECT_REASONS } from '../../ingest/pipeline.ts';
import type { Reading } from '../../ingest/reading.ts';
import { BUCKET_MS, type Aggregate, type Bucket } from '../../store/telemetry-store.ts';
import { notFound } from '../error-handler.ts';
import { INGEST, VIEW } from '../roles.ts';
import { Aggregate as AggregateSchema, AssetId, Bucket as BucketSchema, LatestField, ReadingIn, TimeParam, parseTime } from '../schemas.ts';
import type { HubServices } from '../services.ts';

/** Points one history request may return per field; a wider request must use a coarser bucket. */
export const MAX_POINTS_PER_FIELD = 50_000;
const MAX_FIELDS_PER_QUERY = 64;
const MAX_ASSETS_PER_LATEST = 20_000;

const LatestAsset = Type.Object({
  lastTs: Type.Union([Type.Integer(), Type.Null()]),
  quality: Type.Union([Type.String(), Type.Null()]),
  fields: Type.Record(Type.String(), LatestField),
});

export function telemetryRoutes(app: FastifyInstance, s: HubServices): void {
  app.get(
    '/api/latest',
    {
      config: { access: VIEW },
      schema: {
        tags: ['telemetry'],
        summary: 'Latest value of every field of the given assets (a list, or every asset of a kind under an ancestor)',
        querystring: Type.Object(
          {
            assets: Type.Optional(Type.String({ maxLength: 100_000, description: 'Comma-separated asset ids' })),
            under: Type.Optional(AssetId),
            kind: Type.Optional(Type.String({ maxLength: 32 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ assets: Type.Record(Type.String(), LatestAsset) }) },
      },
    },
    async (req) => {
      const q = req.query as { assets?: string; under?: string; kind?: string };
      let ids: string[];
      if (q.assets !== undefined) {
        ids = q.assets.split(',').filter((x) => x.length > 0);
      } else if (q.under !== undefined) {
        if (!s.assets.has(q.under)) throw notFound(`unknown asset "${q.under}"`);
        ids = s.assets.descendants(q.under).filter((a) => !q.kind || a.kind === q.kind).map((a) => a.id);
      } else {
        throw new WarmgridError('BAD_REQUEST', 'give "assets" or "under"');
      }
      if (ids.length > MAX_ASSETS_PER_LATEST) throw new WarmgridError('BAD_REQUEST', `at most ${MAX_ASSETS_PER_LATEST} assets per request`);
      const out: Record<string, typeof LatestAsset.static> = {};
      for (const id of ids) {
        if (!s.assets.has(id)) continue;
        const st = s.pipeline.status(id);
        const fields: Record<string, typeof LatestField.static> = {};
        for (const [k, v] of s.pipeline.latest(id) ?? []) fields[k] = v;
        out[id] = { lastTs: st?.lastTs ?? null, quality: st?.quality ?? null, fields };
      }
      return { assets: out };
    },
  );

  app.get(
    '/api/history',
    {
      config: { access: VIEW },
      schema: {
        tags: ['telemetry'],
        summary: 'History of fields of one asset over a time range, raw or bucketed with an aggregate',
        querystring: Type.Object(
          {
            asset: AssetId,
            fields: Type.String({ minLength: 1, maxLength: 4096, description: 'Comma-separated field names' }),
            from: TimeParam,
            to: Type.Optional(TimeParam),
            bucket: Type.Optional(BucketSchema),
            aggregate: Type.Optional(AggregateSchema),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_POINTS_PER_FIELD })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            asset: Type.String(),
            bucket: Type.String(),
            aggregate: Type.String(),
            from: Type.Integer(),
            to: Type.Integer(),
            series: Type.Record(Type.String(), Type.Array(Type.Tuple([Type.Integer(), Type.Number()]))),
          }),
        },
      },
    },
    async (req) => {
      const q = req.query as { asset: string; fields: string; from: number | string; to?: number | string; bucket?: Bucket; aggregate?: Aggregate; limit?: number };
      if (!s.assets.has(q.asset)) throw notFound(`unknown asset "${q.asset}"`);
      const fields = [...new Set(q.fields.split(',').filter((f) => f.length > 0))];
      if (fields.length === 0 || fields.length > MAX_FIELDS_PER_QUERY) throw new WarmgridError('BAD_REQUEST', `give 1 to ${MAX_FIELDS_PER_QUERY} fields`);
      const from = parseTime(q.from);
      const to = q.to === undefined ? s.clock.now() : parseTime(q.to);
      if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) throw new WarmgridError('BAD_REQUEST', '"from" must be before "to"');
      const bucket = q.bucket ?? 'raw';
      const aggregate = q.aggregate ?? 'mean';
      if (bucket !== 'raw' && (to - from) / BUCKET_MS[bucket] > MAX_POINTS_PER_FIELD) {
        throw new WarmgridError('BAD_REQUEST', `range too long for bucket ${bucket}: use a coarser bucket`);
      }
      const res = await s.store.history({ asset: q.asset, fields, from, to, bucket, aggregate, limit: q.limit ?? MAX_POINTS_PER_FIELD });
      const series: Record<string, [number, number][]> = {};
      for (const f of fields) series[f] = (res.series[f] ?? []).map((p) => [p.ts, p.value]);
      return { asset: q.asset, bucket, aggregate, from, to, series };
    },
  );

  app.post(
    '/api/readings',
    {
      config: { access: INGEST },
      schema: {
        tags: ['telemetry'],
        summary: 'Push readings over HTTP (integrations, manual entry); each is validated like any source input',
        description: 'Responds once accepted readings are durable. Invalid readings and fields are rejected with a reason and counted; valid ones in the same request are kept.',
        body: Type.Object({ readings: Type.Array(ReadingIn, { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            accepted: Type.Integer(),
            rejected: Type.Integer(),
            reasons: Type.Record(Type.String(), Type.Integer()),
            problems: Type.Array(Type.Object({ index: Type.Integer(), reason: Type.Union(REJECT_REASONS.map((r) => Type.Literal(r))), detail: Type.String() })),
          }),
        },
      },
    },
    async (req) => {
      const body = req.body as { readings: ReadingIn[] };
      const now = s.clock.now();
      const readings: Reading[] = body.readings.map((r) => ({
        asset: r.asset,
        ts: r.ts === undefined ? now : parseTime(r.ts),
        fields: r.fields,
        quality: r.quality ?? 'good',
        source: 'http:api',
      }));
      const res = await s.pipeline.ingest(readings);
      return res;
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: VIEW },
      schema: { tags: ['system'], summary: 'Prometheus metrics (text exposition format); scrape with an API token' },
    },
    async (_req, reply) => {
      void reply.type(s.metrics.registry.contentType);
      return s.metrics.registry.metrics();
    },
  );
}
