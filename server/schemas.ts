/** TypeBox schemas shared by routes: one source for validation, types and OpenAPI. */
import { Type, type Static } from '@sinclair/typebox';
import { AGGREGATES, BUCKETS } from '../store/telemetry-store.ts';

export const Quality = Type.Union([Type.Literal('good'), Type.Literal('uncertain'), Type.Literal('bad')]);
export const FieldValue = Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 256 })]);

export const AssetId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' });

/** Epoch milliseconds, or an ISO 8601 date-time. */
export const TimeParam = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'date-time', maxLength: 40 })]);

export const ReadingIn = Type.Object(
  {
    asset: Type.String({ minLength: 1, maxLength: 64 }),
    ts: Type.Optional(TimeParam),
    fields: Type.Record(Type.String({ maxLength: 64 }), FieldValue, { maxProperties: 512 }),
    quality: Type.Optional(Quality),
  },
  { additionalProperties: false },
);
export type ReadingIn = Static<typeof ReadingIn>;

export const LatestField = Type.Object({ value: FieldValue, ts: Type.Integer(), quality: Quality });

export const AssetOut = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  parent: Type.Union([Type.String(), Type.Null()]),
  path: Type.Array(Type.String()),
  childCount: Type.Integer(),
  attrs: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
});

export const Bucket = Type.Union(BUCKETS.map((b) => Type.Literal(b)));
export const Aggregate = Type.Union(AGGREGATES.map((a) => Type.Literal(a)));

export function parseTime(v: number | string): number {
  return typeof v === 'number' ? v : Date.parse(v);
}
