/**
 * Alarm rules: one TypeBox schema for alarms.yaml, the rules API and the stored rules, so a rule means the same thing
 * wherever it comes from. A rule watches one asset kind; each asset of that kind that matches `where` is one alarm point
 * (rule × asset), and each point raises at most one alarm at a time (ISA-18.2: one alarm per condition).
 *
 * Per-reading kinds (indexed by asset kind and field, so a reading touches only the rules that name its fields):
 *   threshold (HH/H/L/LL with deadband), discrete (a status equals a value), rate (of change), stale (comm loss and
 *   missing fields), deviation (from a setpoint), flatline (variance collapse), spike (robust z-score on the MAD).
 * Aggregate kinds (evaluated on a timer over the latest values in memory, never per reading):
 *   share (share of members beyond a limit, e.g. flats below 18 °C), baseline (above or below a learned baseline, e.g.
 *   make-up flow = leak), neighbour (a member against its group's mean, e.g. a suspended flat as warm as its neighbours
 *   = heat theft, or one flat colder than it normally is beside its neighbours = cold flat).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ASSET_KINDS } from '../config/asset-tree.ts';

export const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Ticket categories; every rule names the one its incidents belong to. */
export const CATEGORIES = ['leak', 'no_heat', 'comm_loss', 'equipment', 'theft', 'comfort'] as const;
export type Category = (typeof CATEGORIES)[number];

export const LEVELS = ['hh', 'h', 'l', 'll'] as const;
export type Level = (typeof LEVELS)[number];

export const RULE_ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$';
const RuleId = Type.String({ pattern: RULE_ID_PATTERN, description: 'Unique rule id: lower-case letters, digits, _ . -' });
const Field = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'Field name, e.g. secondary_supply_temp_c' });
const PriorityT = Type.Union(PRIORITIES.map((p) => Type.Literal(p)), { description: 'low, medium, high or critical' });
const CategoryT = Type.Union(CATEGORIES.map((c) => Type.Literal(c)), { description: 'Ticket category of its incidents' });
const Scalar = Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 256 })]);
const Seconds = (def: number, description: string) => Type.Number({ default: def, minimum: 0, maximum: 30 * 86_400, description });

const Where = Type.Object(
  {
    assets: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 10_000, description: 'Only these assets and everything below them' })),
    attrs: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Scalar, { description: 'Only assets whose attributes equal these, e.g. { account: suspended } or { emitter: radiator }' })),
  },
  { additionalProperties: false },
);

/** Evaluate the condition only while another field of the same asset satisfies this (e.g. only with flow). */
const Guard = Type.Object(
  {
    field: Field,
    above: Type.Optional(Type.Number()),
    below: Type.Optional(Type.Number()),
    equals: Type.Optional(Scalar),
  },
  { additionalProperties: false },
);

const Common = {
  id: RuleId,
  name: Type.String({ minLength: 1, maxLength: 200, description: 'What the operator reads' }),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  /** The template (alarms/templates.ts) a rule was made from; informational. */
  template: Type.Optional(Type.String({ maxLength: 64, description: 'Rule template it was made from' })),
  enabled: Type.Boolean({ default: true }),
  assetKind: Type.Union(ASSET_KINDS.map((k) => Type.Literal(k)), { description: 'Asset kind the rule watches' }),
  where: Type.Optional(Where),
  priority: { ...PriorityT, default: 'medium' },
  category: CategoryT,
  /** Tickets are deduplicated by asset and cause while open: rules that describe one incident share a cause. */
  cause: Type.Optional(Type.String({ pattern: RULE_ID_PATTERN, description: 'Incident cause for ticket dedupe; defaults to the rule id' })),
  onDelayS: Seconds(0, 'The condition must hold this long before the alarm is raised'),
  offDelayS: Seconds(0, 'The condition must be gone this long before the alarm returns to normal'),
  /** Rule ids (or globs like "apt-*") whose alarms on this asset and below it this alarm suppresses while active. */
  suppresses: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z0-9*][a-z0-9_.*-]{0,63}$' }), { maxItems: 100, description: 'Rules suppressed on this asset and below while active' })),
  /** The plant needs time to recover after a cause clears (pipes refill, rooms rewarm): suppression outlasts it by this. */
  suppressReleaseS: Seconds(0, 'After this alarm clears, what it suppressed stays suppressed this long'),
  ticket: Type.Optional(
    Type.Object(
      {
        raise: Type.Optional(Type.Boolean({ description: 'Raise a ticket; default from the policy for its priority' })),
        resolveOnReturn: Type.Optional(Type.Boolean({ description: 'Resolve the ticket when every alarm on it returned to normal' })),
      },
      { additionalProperties: false },
    ),
  ),
};

function kind<K extends string, P extends Record<string, TSchema>>(k: K, props: P, description: string) {
  return Type.Object({ kind: Type.Literal(k), ...Common, ...props }, { additionalProperties: false, description });
}

const LevelPriority = Type.Object(
  { hh: Type.Optional(PriorityT), h: Type.Optional(PriorityT), l: Type.Optional(PriorityT), ll: Type.Optional(PriorityT) },
  { additionalProperties: false, description: 'Priority per level; default the rule priority' },
);

export const ThresholdRule = kind(
  'threshold',
  {
    field: Field,
    /** value = field − minus (e.g. supply − return = ΔT; command − feedback). */
    minus: Type.Optional(Field),
    abs: Type.Boolean({ default: false, description: 'Compare the absolute value' }),
    hh: Type.Optional(Type.Number()),
    h: Type.Optional(Type.Number()),
    l: Type.Optional(Type.Number()),
    ll: Type.Optional(Type.Number()),
    deadband: Type.Number({ default: 0, minimum: 0, description: 'A level clears only this far back inside it' }),
    levelPriority: Type.Optional(LevelPriority),
    when: Type.Optional(Guard),
  },
  'HH/H/L/LL limits with a deadband',
);

export const DiscreteRule = kind('discrete', { field: Field, equals: Scalar, when: Type.Optional(Guard) }, 'A status field equals a value (e.g. vfd_fault = true)');

export const RateRule = kind(
  'rate',
  {
    field: Field,
    windowS: Type.Number({ default: 600, minimum: 10, maximum: 86_400, description: 'Rate measured over this window' }),
    risePerH: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Alarm when rising faster than this, units per hour' })),
    fallPerH: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Alarm when falling faster than this, units per hour' })),
  },
  'Rate of change over a window',
);

export const StaleRule = kind(
  'stale',
  {
    /** Absent: the asset as a whole (any reading); present: that one field (a dead sensor drops out of readings). */
    field: Type.Optional(Field),
    maxAgeS: Type.Number({ minimum: 1, maximum: 30 * 86_400, description: 'Stale when nothing arrived for this long (a few expected intervals)' }),
    badQuality: Type.Boolean({ default: true, description: 'A bad-quality status reading (device not answering) counts at once' }),
  },
  'Comm loss: staleness against the expected interval, and bad-quality status readings',
);

export const DeviationRule = kind(
  'deviation',
  {
    field: Field,
    /** A field of the same asset (e.g. supply_temp_setpoint_c) or a fixed value. */
    setpoint: Type.Union([Field, Type.Number()]),
    band: Type.Number({ exclusiveMinimum: 0, description: 'Allowed deviation' }),
    direction: Type.Union([Type.Literal('both'), Type.Literal('below'), Type.Literal('above')], { default: 'both' }),
    deadband: Type.Number({ default: 0, minimum: 0 }),
    when: Type.Optional(Guard),
  },
  'Deviation from a setpoint (with onDelayS: for longer than a time)',
);

export const FlatlineRule = kind(
  'flatline',
  {
    field: Field,
    windowS: Type.Number({ default: 1800, minimum: 60, maximum: 7 * 86_400 }),
    maxStdDev: Type.Number({ default: 0.001, minimum: 0, description: 'Stuck when the standard deviation over the window is at most this' }),
    minSamples: Type.Integer({ default: 5, minimum: 3, maximum: 100_000 }),
  },
  'Stuck sensor: the variance collapses over a window',
);

export const SpikeRule = kind(
  'spike',
  {
    field: Field,
    samples: Type.Integer({ default: 30, minimum: 8, maximum: 2000, description: 'Recent samples the median and MAD come from' }),
    z: Type.Number({ default: 3.5, exclusiveMinimum: 0, description: 'Modified z-score 0.6745·|x − median| / MAD above which a sample is a spike' }),
    minMad: Type.Number({ default: 0, minimum: 0, description: 'Floor for the MAD (a quiet signal would make any wiggle a spike)' }),
    holdS: Type.Number({ default: 3600, minimum: 1, description: 'Spikes are counted over this long' }),
    minCount: Type.Integer({ default: 2, minimum: 1, description: 'Alarm while at least this many spikes fell within holdS' }),
  },
  'Spikes: robust z-score on the median absolute deviation',
);

const Aggregate = {
  everyS: Type.Number({ default: 60, minimum: 1, maximum: 86_400, description: 'Evaluated this often' }),
  maxAgeS: Type.Number({ default: 1800, minimum: 1, description: 'Values older than this are not used' }),
};
const MemberFilter = Type.Object(
  { kind: Type.Union(ASSET_KINDS.map((k) => Type.Literal(k))), attrs: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Scalar)) },
  { additionalProperties: false },
);

export const ShareRule = kind(
  'share',
  {
    ...Aggregate,
    member: MemberFilter,
    field: Field,
    below: Type.Optional(Type.Number()),
    above: Type.Optional(Type.Number()),
    minShare: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Alarm when at least this share of members with fresh values is beyond the limit' }),
    minMembers: Type.Integer({ default: 3, minimum: 1, description: 'Members with fresh values needed to judge' }),
    deadband: Type.Number({ default: 0, minimum: 0, description: 'Share by which it must fall back before clearing' }),
  },
  'Aggregate: share of an asset\'s members beyond a limit (e.g. flats below 18 °C in a building)',
);

export const BaselineRule = kind(
  'baseline',
  {
    ...Aggregate,
    field: Field,
    direction: Type.Union([Type.Literal('above'), Type.Literal('below')], { default: 'above' }),
    factor: Type.Number({ default: 1, minimum: 0, description: 'Limit = baseline × factor ± margin' }),
    margin: Type.Number({ default: 0, minimum: 0 }),
    learnHours: Type.Number({ default: 6, exclusiveMinimum: 0, description: 'Time constant of the learned baseline' }),
    warmupHours: Type.Number({ default: 1, minimum: 0, description: 'Learning time before the rule may alarm' }),
  },
  'Aggregate: a value against its own learned baseline (learning pauses while the condition holds)',
);

export const NeighbourRule = kind(
  'neighbour',
  {
    ...Aggregate,
    field: Field,
    /** Kind of the ancestor whose other members are the neighbours (usually building). */
    group: Type.Union(ASSET_KINDS.map((k) => Type.Literal(k)), { default: 'building' }),
    peers: Type.Optional(Type.Object({ attrs: Type.Record(Type.String({ maxLength: 64 }), Scalar) }, { additionalProperties: false, description: 'Which members make the neighbours\' mean' })),
    /** Expected value − neighbours' mean: fixed, or learned per asset ("learn"). */
    offset: Type.Union([Type.Number(), Type.Literal('learn')], { default: 0 }),
    aboveK: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Alarm when this far above expected' })),
    belowK: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Alarm when this far below expected' })),
    minPeers: Type.Integer({ default: 3, minimum: 1 }),
    learnHours: Type.Number({ default: 24, exclusiveMinimum: 0 }),
    warmupHours: Type.Number({ default: 1, minimum: 0 }),
  },
  'Aggregate: an asset against what its neighbours predict (heat theft, cold flat)',
);

export const Rule = Type.Union([ThresholdRule, DiscreteRule, RateRule, StaleRule, DeviationRule, FlatlineRule, SpikeRule, ShareRule, BaselineRule, NeighbourRule], {
  description: 'An alarm rule',
});
export type Rule = Static<typeof Rule>;

/** Each kind's schema, so a rule is checked against its own kind (clearer errors than the union's). */
export const RULE_SCHEMAS = {
  threshold: ThresholdRule,
  discrete: DiscreteRule,
  rate: RateRule,
  stale: StaleRule,
  deviation: DeviationRule,
  flatline: FlatlineRule,
  spike: SpikeRule,
  share: ShareRule,
  baseline: BaselineRule,
  neighbour: NeighbourRule,
} as const;
export type RuleKind = Rule['kind'];
export type ThresholdRule = Static<typeof ThresholdRule>;
export type DiscreteRule = Static<typeof DiscreteRule>;
export type RateRule = Static<typeof RateRule>;
export type StaleRule = Static<typeof StaleRule>;
export type DeviationRule = Static<typeof DeviationRule>;
export type FlatlineRule = Static<typeof FlatlineRule>;
export type SpikeRule = Static<typeof SpikeRule>;
export type ShareRule = Static<typeof ShareRule>;
export type BaselineRule = Static<typeof BaselineRule>;
export type NeighbourRule = Static<typeof NeighbourRule>;
export type GuardSpec = Static<typeof Guard>;

export const AGGREGATE_KINDS: ReadonlySet<RuleKind> = new Set(['share', 'baseline', 'neighbour']);
export const RULE_KINDS: readonly RuleKind[] = ['threshold', 'discrete', 'rate', 'stale', 'deviation', 'flatline', 'spike', 'share', 'baseline', 'neighbour'];

export function isAggregate(r: Rule): r is ShareRule | BaselineRule | NeighbourRule {
  return AGGREGATE_KINDS.has(r.kind);
}

/** Incident cause used for ticket dedupe. */
export function causeOf(r: Rule): string {
  return r.cause ?? r.id;
}

/** The fields a per-reading rule reads; a reading carrying any of them evaluates the rule. Empty for whole-asset rules. */
export function fieldsOf(r: Rule): string[] {
  switch (r.kind) {
    case 'threshold':
      return [r.field, ...(r.minus ? [r.minus] : [])];
    case 'deviation':
      return [r.field, ...(typeof r.setpoint === 'string' ? [r.setpoint] : [])];
    case 'stale':
      return r.field ? [r.field] : [];
    default:
      return [r.field];
  }
}

export const PRIORITY_RANK: Record<Priority, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** Semantic checks the schema cannot express; each problem as [path, message]. */
export function ruleProblems(r: Rule): [string, string][] {
  const out: [string, string][] = [];
  if (r.kind === 'threshold') {
    const { hh, h, l, ll } = r;
    if (hh === undefined && h === undefined && l === undefined && ll === undefined) out.push(['', 'give at least one of hh, h, l, ll']);
    const order: [string, number | undefined][] = [['hh', hh], ['h', h], ['l', l], ['ll', ll]];
    const given = order.filter((x): x is [string, number] => x[1] !== undefined);
    for (let i = 1; i < given.length; i++) {
      if (given[i]![1] > given[i - 1]![1]) out.push([`/${given[i]![0]}`, `${given[i]![0]} must not be above ${given[i - 1]![0]}`]);
    }
    if (r.minus === r.field) out.push(['/minus', 'minus must name another field']);
  }
  if (r.kind === 'rate' && r.risePerH === undefined && r.fallPerH === undefined) out.push(['', 'give risePerH or fallPerH']);
  if (r.kind === 'share' && r.below === undefined && r.above === undefined) out.push(['', 'give below or above']);
  if (r.kind === 'neighbour') {
    if (r.aboveK === undefined && r.belowK === undefined) out.push(['', 'give aboveK or belowK']);
    if (r.group === r.assetKind) out.push(['/group', 'group must be an ancestor kind of assetKind']);
  }
  if (r.kind === 'deviation' && r.setpoint === r.field) out.push(['/setpoint', 'setpoint must name another field']);
  const guard = 'when' in r ? r.when : undefined;
  if (guard && guard.above === undefined && guard.below === undefined && guard.equals === undefined) out.push(['/when', 'give above, below or equals']);
  if (r.suppresses?.some((p) => p === r.id)) out.push(['/suppresses', 'a rule cannot suppress itself']);
  return out;
}

/** A rule-id glob ("apt-*") as a regular expression. */
export function globRe(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*')}$`);
}
