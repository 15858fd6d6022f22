/**
 * alarms.yaml (alarm rules and console settings) and, through tickets/config.ts, tickets.yaml (ticket policy, teams,
 * SLAs, webhooks): loaded and validated with the rest of the configuration directory, every problem with its file and
 * path, before the hub opens anything. Both files are optional: without them the hub has no rules and the default
 * ticket policy.
 *
 * The rules here are the seed: at start the hub copies them into the state database, where an engineer may change them
 * at runtime (alarms/rule-store.ts says which copy wins).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { AssetTree } from '../config/asset-tree.ts';
import { checkAgainst, readYaml, type ConfigProblem } from '../config/load.ts';
import { loadTicketsFile, type TicketsFile } from '../tickets/config.ts';
import { RULE_KINDS, RULE_SCHEMAS, globRe, ruleProblems, type Rule, type RuleKind } from './rules.ts';

export const AlarmsFile = Type.Object(
  {
    console: Type.Object(
      {
        operators: Type.Integer({ default: 1, minimum: 1, maximum: 1000, description: 'Operator consoles sharing the alarm load (EEMUA 191 rates are per operator)' }),
        maxShelveHours: Type.Number({ default: 72, minimum: 0.1, maximum: 8760, description: 'Longest an operator may shelve an alarm' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Each rule is checked against its kind's schema (see parseRule). */
    rules: Type.Array(Type.Unknown({ description: 'An alarm rule (docs/alarms.md)' }), { default: [], maxItems: 10_000 }),
  },
  { additionalProperties: false },
);
export type AlarmsFile = Omit<Static<typeof AlarmsFile>, 'rules'> & { rules: Rule[] };

export interface AlarmsConfig {
  alarms: AlarmsFile;
  tickets: TicketsFile;
}

const FILE = 'alarms.yaml';

/** Checks a rule beyond its schema, against the asset tree and the other rules; problems are reported at `base`. */
export function checkRule(rule: Rule, assets: AssetTree | undefined, base: string, file: string, problems: ConfigProblem[], ruleIds?: ReadonlySet<string>): void {
  for (const [p, m] of ruleProblems(rule)) problems.push({ file, path: `${base}${p}`, message: m });
  if (assets) {
    rule.where?.assets?.forEach((id, j) => {
      if (!assets.has(id)) problems.push({ file, path: `${base}/where/assets/${j}`, message: `unknown asset "${id}"` });
    });
    if (assets.ofKind(rule.assetKind).length === 0) problems.push({ file, path: `${base}/assetKind`, message: `the network has no ${rule.assetKind}` });
  }
  if (ruleIds && rule.suppresses) {
    rule.suppresses.forEach((pat, j) => {
      const re = globRe(pat);
      if (![...ruleIds].some((id) => re.test(id))) problems.push({ file, path: `${base}/suppresses/${j}`, message: `"${pat}" matches no rule` });
    });
  }
}

/** Reads alarms.yaml and tickets.yaml from `dir`; problems are appended, and the result is undefined if there were any. */
/** Checks one rule against its kind's schema (defaults applied); problems at `base`. */
export function parseRule(raw: unknown, file: string, problems: ConfigProblem[], base = ''): Rule | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push({ file, path: base, message: 'a rule must be a mapping' });
    return undefined;
  }
  const kind = (raw as Record<string, unknown>)['kind'];
  const schema = typeof kind === 'string' && Object.hasOwn(RULE_SCHEMAS, kind) ? RULE_SCHEMAS[kind as RuleKind] : undefined;
  if (!schema) {
    problems.push({ file, path: `${base}/kind`, message: `unknown rule kind ${JSON.stringify(kind)} (known: ${RULE_KINDS.join(', ')})` });
    return undefined;
  }
  return checkAgainst(schema, raw, file, problems, base) as Rule | undefined;
}

export function loadAlarmsConfig(dir: string, env: NodeJS.ProcessEnv, assets: AssetTree | undefined, problems: ConfigProblem[]): AlarmsConfig | undefined {
  const before = problems.length;
  const file = path.join(dir, FILE);
  let top = checkAgainst(AlarmsFile, {}, FILE, problems);
  if (existsSync(file)) {
    const raw = readYaml(file, env, problems);
    top = raw === undefined ? undefined : checkAgainst(AlarmsFile, raw, FILE, problems);
  }
  let alarms: AlarmsFile | undefined;
  if (top) {
    const parsed: { i: number; rule: Rule }[] = [];
    top.rules.forEach((raw, i) => {
      const rule = parseRule(raw, FILE, problems, `/rules/${i}`);
      if (rule) parsed.push({ i, rule });
    });
    const ids = new Set<string>();
    for (const { i, rule } of parsed) {
      if (ids.has(rule.id)) problems.push({ file: FILE, path: `/rules/${i}/id`, message: `duplicate rule id "${rule.id}"` });
      ids.add(rule.id);
    }
    for (const { i, rule } of parsed) checkRule(rule, assets, `/rules/${i}`, FILE, problems, ids);
    alarms = { ...top, rules: parsed.map((p) => p.rule) };
  }
  const tickets = loadTicketsFile(dir, env, assets, problems);
  if (problems.length > before || !alarms || !tickets) return undefined;
  return { alarms, tickets };
}
