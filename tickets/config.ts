/**
 * tickets.yaml: when alarms raise tickets (policy by priority; a rule may override it), service teams and the areas they
 * cover, SLA times by priority, and the webhook endpoints of external service-desk systems. Optional: every key has a
 * default. Webhook secrets come only from the environment (`secretEnv` names the variable).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { AssetTree } from '../config/asset-tree.ts';
import { checkAgainst, readYaml, type ConfigProblem } from '../config/load.ts';

function ByPriority<T extends TSchema>(item: T, defaults: Record<string, unknown>, description: string) {
  return Type.Object({ low: item, medium: item, high: item, critical: item }, { additionalProperties: false, default: defaults, description });
}

const Sla = () =>
  Type.Object(
    {
      respondMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 525_600, description: 'Due to be in progress this long after it was raised' }),
      resolveHours: Type.Number({ exclusiveMinimum: 0, maximum: 8760, description: 'Due to be resolved this long after it was raised' }),
    },
    { additionalProperties: false },
  );

const Id = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' });

export const Team = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** Asset ids; the team covers them and everything below. The most specific area wins. */
    areas: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100_000, description: 'Assets covered (and everything below them)' }),
  },
  { additionalProperties: false },
);

export const WebhookEndpoint = Type.Object(
  {
    id: Id,
    url: Type.String({ pattern: '^https?://', maxLength: 2000, description: 'Receiver URL (http or https)' }),
    /** Name of the environment variable holding the HMAC secret. */
    secretEnv: Type.String({ pattern: '^[A-Z_][A-Z0-9_]{0,127}$', description: 'Environment variable with the signing secret' }),
    events: Type.Array(Type.String({ pattern: '^[a-z*][a-z_.*]{0,63}$' }), { default: ['ticket.*'], minItems: 1, description: 'Event types (globs) sent, e.g. ticket.*, alarm.activated' }),
    enabled: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

export const TicketsFile = Type.Object(
  {
    policy: Type.Object(
      {
        raise: ByPriority(Type.Boolean(), { low: false, medium: true, high: true, critical: true }, 'Raise a ticket when an alarm of this priority is raised'),
        resolveOnReturn: ByPriority(Type.Boolean(), { low: true, medium: true, high: false, critical: false }, 'Resolve the ticket when its alarms returned to normal'),
      },
      { additionalProperties: false, default: {} },
    ),
    sla: ByPriority(
      Sla(),
      {
        low: { respondMinutes: 1440, resolveHours: 72 },
        medium: { respondMinutes: 240, resolveHours: 24 },
        high: { respondMinutes: 60, resolveHours: 8 },
        critical: { respondMinutes: 30, resolveHours: 4 },
      },
      'Response and resolution times by priority',
    ),
    teams: Type.Array(Team, { default: [], maxItems: 1000 }),
    /** Team for assets no team's areas cover; none leaves such tickets new (unassigned). */
    defaultTeam: Type.Optional(Id),
    webhooks: Type.Object(
      {
        endpoints: Type.Array(WebhookEndpoint, { default: [], maxItems: 50 }),
        timeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 120_000 }),
        retryBaseMs: Type.Integer({ default: 2000, minimum: 10, maximum: 3_600_000, description: 'First retry after this; doubles each time' }),
        retryMaxMs: Type.Integer({ default: 600_000, minimum: 10, maximum: 86_400_000, description: 'Longest wait between retries' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);
export type TicketsFile = Static<typeof TicketsFile> & {
  /** Signing secret per endpoint id, from the environment; never from the file. */
  secrets: Record<string, string>;
};
export type TeamConfig = Static<typeof Team>;
export type WebhookEndpointConfig = Static<typeof WebhookEndpoint>;

const FILE = 'tickets.yaml';

export function loadTicketsFile(dir: string, env: NodeJS.ProcessEnv, assets: AssetTree | undefined, problems: ConfigProblem[]): TicketsFile | undefined {
  const file = path.join(dir, FILE);
  let raw: unknown = {};
  if (existsSync(file)) {
    raw = readYaml(file, env, problems);
    if (raw === undefined) return undefined;
  }
  const parsed = checkAgainst(TicketsFile, raw, FILE, problems);
  if (!parsed) return undefined;
  const teamIds = new Set<string>();
  parsed.teams.forEach((t, i) => {
    if (teamIds.has(t.id)) problems.push({ file: FILE, path: `/teams/${i}/id`, message: `duplicate team id "${t.id}"` });
    teamIds.add(t.id);
    if (assets) {
      t.areas.forEach((a, j) => {
        if (!assets.has(a)) problems.push({ file: FILE, path: `/teams/${i}/areas/${j}`, message: `unknown asset "${a}"` });
      });
    }
  });
  if (parsed.defaultTeam !== undefined && !teamIds.has(parsed.defaultTeam)) problems.push({ file: FILE, path: '/defaultTeam', message: `no team "${parsed.defaultTeam}"` });
  const secrets: Record<string, string> = {};
  const endpointIds = new Set<string>();
  parsed.webhooks.endpoints.forEach((e, i) => {
    if (endpointIds.has(e.id)) problems.push({ file: FILE, path: `/webhooks/endpoints/${i}/id`, message: `duplicate endpoint id "${e.id}"` });
    endpointIds.add(e.id);
    try {
      new URL(e.url);
    } catch {
      problems.push({ file: FILE, path: `/webhooks/endpoints/${i}/url`, message: 'not a valid URL' });
    }
    const secret = env[e.secretEnv];
    if (e.enabled && (secret === undefined || secret.length < 16)) {
      problems.push({ file: FILE, path: `/webhooks/endpoints/${i}/secretEnv`, message: `set ${e.secretEnv} in the environment to a secret of at least 16 characters` });
    } else if (secret !== undefined) {
      secrets[e.id] = secret;
    }
  });
  if (parsed.webhooks.retryMaxMs < parsed.webhooks.retryBaseMs) problems.push({ file: FILE, path: '/webhooks/retryMaxMs', message: 'must not be below retryBaseMs' });
  return { ...parsed, secrets };
}
