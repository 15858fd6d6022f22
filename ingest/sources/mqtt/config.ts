/**
 * Configuration of an `mqtt` source (one entry of sources.yaml): the broker connection and the topic templates that
 * map topics to assets. Validated by `MqttSourceConfig` (TypeBox, defaults applied by the loader) and then by
 * `validateMqttConfig` (cross-checks: filters, asset templates, assets, files). See docs/mqtt.md for the reference.
 */
import { existsSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { ASSET_KINDS } from '../../../config/asset-tree.ts';
import type { ConfigProblem, ValidateContext } from '../../source.ts';
import { compileAssetTemplate, filterLevels, filterProblem } from './topic-matcher.ts';

const FieldName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'Field name, snake_case with a unit suffix' });
const Path = Type.String({ minLength: 1, description: 'File path (PEM)' });

export const SPARKPLUG_PLACEHOLDERS = ['group', 'node', 'device'] as const;

export const TopicTemplate = Type.Object(
  {
    filter: Type.String({ minLength: 1, maxLength: 1024, description: 'MQTT topic filter with + and # wildcards; one subscription each' }),
    format: Type.Union([Type.Literal('json'), Type.Literal('sparkplug')], { default: 'json', description: 'Payload format: json (docs/mqtt.md) or sparkplug (Sparkplug B protobuf)' }),
    asset: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Asset id template: {N} is topic level N (0-based), e.g. "{2}-{3}"; Sparkplug: {group}, {node}, {device}',
      }),
    ),
    assetKind: Type.Optional(Type.Union(ASSET_KINDS.map((k) => Type.Literal(k)), { description: 'Only assets of this kind are accepted (others: unknown_asset)' })),
    qos: Type.Union([Type.Literal(0), Type.Literal(1)], { default: 1, description: 'Subscription QoS; 1 gives at-least-once delivery with acknowledgement after durability' }),
    fields: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 128 }), FieldName, { description: 'json: payload key → field name, for payloads whose keys are not field names' })),
    forecastHorizonsH: Type.Array(Type.Integer({ minimum: 1, maximum: 240 }), {
      default: [1, 3, 6, 12, 24],
      maxItems: 48,
      description: 'json: forecast horizons in hours, stored as forecast_<h>h_<quantity> fields',
    }),
    metrics: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 256 }), FieldName, { description: 'sparkplug: metric name → field name; other metrics are ignored' })),
    devices: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ minLength: 1 }), { description: 'sparkplug: "<edge node>" or "<edge node>/<device>" → asset id' }),
    ),
  },
  { additionalProperties: false },
);
export type TopicTemplate = Static<typeof TopicTemplate>;

export const MqttSourceConfig = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }),
    kind: Type.Literal('mqtt'),
    enabled: Type.Boolean({ default: true }),
    url: Type.String({ pattern: '^(mqtt|mqtts|tcp|ssl|tls|ws|wss)://', default: 'mqtt://127.0.0.1:1884', description: 'Broker URL, e.g. mqtt://broker:1883 or mqtts://broker:8883' }),
    protocolVersion: Type.Union([Type.Literal(5), Type.Literal(4)], { default: 5, description: '5 (MQTT 5) or 4 (MQTT 3.1.1)' }),
    clientId: Type.String({
      pattern: '^[A-Za-z0-9_.:-]{1,64}$',
      description: 'Fixed client id: the broker keeps this session (and queues QoS 1 messages) while the hub is down',
    }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    /** Give it as `${MQTT_PASSWORD}`: the value comes from the environment and is never logged. */
    password: Type.Optional(Type.String({ maxLength: 1024, description: 'Use ${MQTT_PASSWORD}: taken from the environment, never logged' })),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(Path),
          cert: Type.Optional(Path),
          key: Type.Optional(Path),
          rejectUnauthorized: Type.Boolean({ default: true, description: 'Verify the broker certificate (keep true outside a lab)' }),
          servername: Type.Optional(Type.String({ description: 'SNI / name to verify, when it differs from the URL host' })),
        },
        { additionalProperties: false },
      ),
    ),
    keepaliveSec: Type.Integer({ default: 30, minimum: 5, maximum: 3600 }),
    sessionExpirySec: Type.Integer({ default: 604_800, minimum: 0, maximum: 4_294_967_295, description: 'MQTT 5: how long the broker keeps the session (and queued messages) after a disconnect' }),
    receiveMaximum: Type.Integer({ default: 65_535, minimum: 1, maximum: 65_535, description: 'MQTT 5: QoS 1 messages the broker may have in flight to the hub' }),
    maxInFlight: Type.Integer({ default: 65_535, minimum: 1, maximum: 1_000_000, description: 'Messages held awaiting durability before the hub stops reading the socket' }),
    maxPayloadBytes: Type.Integer({ default: 65_536, minimum: 64, maximum: 16_777_216, description: 'Larger payloads are rejected as oversize' }),
    shareGroup: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Subscribe as $share/<group>/<filter> so several hubs split the load (json templates only)' })),
    reconnect: Type.Object(
      {
        minMs: Type.Integer({ default: 1000, minimum: 10, description: 'First reconnect delay' }),
        maxMs: Type.Integer({ default: 30_000, minimum: 10, description: 'Longest reconnect delay (the delay doubles up to this)' }),
      },
      { additionalProperties: false, default: {} },
    ),
    connectTimeoutMs: Type.Integer({ default: 10_000, minimum: 100 }),
    rebirthIntervalMs: Type.Integer({ default: 5000, minimum: 0, description: 'sparkplug: at most one rebirth request per edge node this often' }),
    topics: Type.Array(TopicTemplate, { minItems: 1, maxItems: 256, description: 'Topic templates; the first whose filter matches a topic handles it' }),
  },
  { additionalProperties: false },
);
export type MqttSourceConfig = Static<typeof MqttSourceConfig>;

/** Cross-checks beyond the schema; returns every problem (JSON pointers into the entry). */
export function validateMqttConfig(cfg: MqttSourceConfig, ctx: ValidateContext): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string): void => {
    problems.push({ path, message });
  };
  if (cfg.reconnect.maxMs < cfg.reconnect.minMs) add('/reconnect/maxMs', 'must be at least reconnect.minMs');
  for (const key of ['ca', 'cert', 'key'] as const) {
    const f = cfg.tls?.[key];
    if (f !== undefined && !existsSync(f)) add(`/tls/${key}`, `file not found: ${f}`);
  }
  if ((cfg.tls?.cert === undefined) !== (cfg.tls?.key === undefined)) add('/tls', 'give both cert and key for a client certificate, or neither');
  if (cfg.password !== undefined && cfg.username === undefined) add('/password', 'a password needs a username');

  const seen = new Set<string>();
  cfg.topics.forEach((t, i) => {
    const at = `/topics/${i}`;
    const fp = filterProblem(t.filter);
    if (fp) {
      add(`${at}/filter`, fp);
      return;
    }
    if (seen.has(t.filter)) add(`${at}/filter`, `duplicate filter "${t.filter}"`);
    seen.add(t.filter);
    const levels = filterLevels(t.filter);

    if (t.format === 'json') {
      if (t.metrics !== undefined) add(`${at}/metrics`, 'metrics apply to sparkplug templates; use fields for json');
      if (t.devices !== undefined) add(`${at}/devices`, 'devices apply to sparkplug templates');
      if (t.asset === undefined) {
        add(`${at}/asset`, 'a json template needs an asset template, e.g. "{2}-{3}"');
        return;
      }
      let tpl;
      try {
        tpl = compileAssetTemplate(t.asset);
      } catch (err) {
        add(`${at}/asset`, (err as Error).message);
        return;
      }
      if (tpl.maxIndex >= levels) add(`${at}/asset`, `{${tpl.maxIndex}} refers to a level the filter "${t.filter}" does not have (levels 0..${levels - 1})`);
      if (tpl.fixed) checkAsset(t.asset, t.assetKind, `${at}/asset`);
      return;
    }

    // sparkplug
    if (!t.filter.startsWith('spBv1.0/') && t.filter !== '#') add(`${at}/filter`, 'a sparkplug filter starts with spBv1.0/ (e.g. spBv1.0/warmgrid/#)');
    if (cfg.shareGroup !== undefined) {
      add(
        `${at}/format`,
        'Sparkplug B needs every message of an edge node in one hub (births, seq order) and a shared subscription splits them: put sparkplug templates in a source without shareGroup',
      );
    }
    if (t.fields !== undefined) add(`${at}/fields`, 'fields apply to json templates; use metrics for sparkplug');
    if (t.metrics === undefined || Object.keys(t.metrics).length === 0) add(`${at}/metrics`, 'a sparkplug template needs metrics: { "<metric name>": <field name> }');
    if (t.asset === undefined && t.devices === undefined) add(`${at}`, 'a sparkplug template needs devices (edge node/device → asset) or an asset template such as "{device}"');
    if (t.asset !== undefined) {
      try {
        const tpl = compileAssetTemplate(t.asset, SPARKPLUG_PLACEHOLDERS);
        if (tpl.maxIndex >= 0) add(`${at}/asset`, 'a sparkplug asset template uses {group}, {node} and {device}, not topic levels');
        if (tpl.fixed) checkAsset(t.asset, t.assetKind, `${at}/asset`);
      } catch (err) {
        add(`${at}/asset`, (err as Error).message);
      }
    }
    for (const [dev, asset] of Object.entries(t.devices ?? {})) {
      if (dev.split('/').length > 2 || dev.startsWith('/') || dev.endsWith('/')) add(`${at}/devices/${dev}`, 'key is "<edge node>" or "<edge node>/<device>"');
      checkAsset(asset, t.assetKind, `${at}/devices/${dev}`);
    }
  });
  return problems;

  function checkAsset(id: string, kind: string | undefined, path: string): void {
    const a = ctx.assets.get(id);
    if (!a) add(path, `unknown asset "${id}"`);
    else if (kind !== undefined && a.kind !== kind) add(path, `asset "${id}" is a ${a.kind}, not a ${kind}`);
  }
}
