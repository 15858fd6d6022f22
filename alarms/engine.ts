/**
 * The alarm engine: rules → conditions → on/off delays → ISA-18.2 occurrences, with shelving, suppression by design and
 * out-of-service, every transition stored with who and when (alarms/store.ts) and announced to listeners (live bus,
 * tickets, webhooks).
 *
 * Contract:
 * - `onReading` is called by the live bus for every accepted reading, synchronously; it must be cheap. Rules are
 *   indexed by (asset kind, field), so a reading touches only the rules that read one of its fields (plus whole-asset
 *   staleness rules of its kind). Bad-quality values are not judged; a bad-quality reading without fields is the
 *   source saying "device not answering" and counts for staleness at once.
 * - Aggregate rules (share, baseline, neighbour) run on a timer over the latest values in memory (`latest`), never per
 *   reading. Everything timed (on/off delays running out, staleness, aggregate rounds, shelving expiry) is one heap of
 *   jobs behind one timer of the injected clock, so tests and the benchmark drive time with a ManualClock.
 * - Time: a condition judged from a reading carries the reading's timestamp; an alarm is raised at the moment its
 *   on-delay ran out (condition start + on-delay), not when someone looked.
 * - One point = one rule × one asset; a point has at most one open occurrence. Suppression: while a point whose rule
 *   lists `suppresses` is active, matching points on its asset and below are not annunciated (no occurrence, no ticket);
 *   already annunciated ones are marked suppressed. When the cause clears, points whose condition still holds are
 *   annunciated then.
 * - Listeners are called synchronously after the change is queued for storage; they must not throw (a throw is logged).
 */
import { randomUUID } from 'node:crypto';
import type { Asset, AssetKind, AssetTree } from '../config/asset-tree.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { WarmgridError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { FieldValue, Reading } from '../ingest/reading.ts';
import type { LatestValue } from '../store/telemetry-store.ts';
import {
  applyDelay,
  delayDue,
  evalBaseline,
  evalDeviation,
  evalDiscrete,
  evalFlatline,
  evalNeighbour,
  evalRate,
  evalShare,
  evalSpike,
  evalStale,
  evalThreshold,
  guardHolds,
  newDelayState,
  newLearnState,
  newSeriesBuffer,
  newSpikeState,
  off,
  pollDelay,
  sameValue,
  toNumber,
  type DelayState,
  type Verdict,
} from './conditions.ts';
import { JobHeap } from './heap.ts';
import { canonicalJson } from './rule-store.ts';
import { PRIORITY_RANK, causeOf, fieldsOf, globRe, isAggregate, type Category, type Level, type Priority, type Rule } from './rules.ts';
import type { AlarmPointsTable } from './schema.ts';
import { isActive, nextState, type AlarmState } from './state-machine.ts';
import type { AlarmRow, AlarmStore } from './store.ts';

export interface AlarmView {
  id: string;
  ruleId: string;
  asset: string;
  assetName: string;
  assetKind: string;
  name: string;
  category: Category;
  cause: string;
  priority: Priority;
  level: Level | null;
  state: AlarmState;
  value: number | boolean | string | null;
  activatedAt: number;
  ackedAt: number | null;
  ackedBy: string | null;
  clearedAt: number | null;
  closedAt: number | null;
  updatedAt: number;
  shelvedUntil: number | null;
  suppressedBy: string | null;
  outOfService: boolean;
  activations: number;
}

export const CHANGE_TYPES = [
  'activated',
  'cleared',
  'acked',
  'closed',
  'escalated',
  'shelved',
  'unshelved',
  'suppressed',
  'unsuppressed',
  'out_of_service',
  'returned_to_service',
] as const;
export type AlarmChangeType = (typeof CHANGE_TYPES)[number];

export interface AlarmChange {
  type: AlarmChangeType;
  /** A snapshot after the change. */
  alarm: AlarmView;
  at: number;
  actor: string;
  actorName: string;
  comment: string;
  /** Whether the alarm is shown to operators now (not shelved, suppressed or out of service). */
  annunciated: boolean;
  rule: Rule;
}

export interface Actor {
  id: string;
  name: string;
}

export const SYSTEM: Actor = { id: 'system', name: 'system' };

export interface AlarmEngineOptions {
  assets: AssetTree;
  store: AlarmStore;
  clock: Clock;
  log: Logger;
  /** Latest value of each field of an asset (the pipeline's), for second fields and aggregate rules. */
  latest: (asset: string) => ReadonlyMap<string, LatestValue> | undefined;
  maxShelveHours?: number;
  newId?: () => string;
  /**
   * Sees every change of a raw condition, before delays, suppression and shelving (tuning, benchmarks: what a system
   * without those tools would have raised). Called synchronously; must be cheap and must not throw.
   */
  observeConditions?: (rule: Rule, asset: string, active: boolean, ts: number) => void;
}

type Mode = { mode: 'shelved' | 'out_of_service'; until: number | null; actor: string; actorName: string; reason: string; since: number };

interface Point {
  cr: CompiledRule;
  asset: Asset;
  /** Evaluator state, by kind. */
  st: unknown;
  delay: DelayState;
  lastTs: number;
  verdict: Verdict | null;
  occ: AlarmView | null;
  mode: Mode | null;
  suppressedBy: Point | null;
  suppressing: Set<Point> | null;
  /** Token of the pending delay job; a job whose token is stale does nothing. */
  dueToken: number;
  /** When the pending delay job runs (null: none). */
  dueAt: number | null;
  /** Token of a pending delayed release of what this point suppresses. */
  releaseToken: number;
  /** Stale rules: a check is pending. */
  checkPending: boolean;
  /** Last reading sequence that evaluated this point (a rule indexed under two fields runs once per reading). */
  seq: number;
  dead: boolean;
  /** Neighbour rules: the point's group and whether it is one of the peers, resolved once. */
  place: { group: string | null; peer: boolean } | null;
}

interface CompiledRule {
  rule: Rule;
  onMs: number;
  offMs: number;
  suppress: RegExp[] | null;
  matches: (a: Asset) => boolean;
  /** Points by asset id; null caches "this asset does not match". */
  points: Map<string, Point | null>;
  /** Aggregate rules: members per group (share) or peers per group (neighbour), resolved on first use. */
  groups: Map<string, Asset[]>;
  /** Aggregate rules: the assets judged, resolved on first use. */
  matching: Asset[] | null;
  hash: string;
}

function whereMatcher(rule: Rule): (a: Asset) => boolean {
  const ids = rule.where?.assets ? new Set(rule.where.assets) : null;
  const attrs = rule.where?.attrs ? Object.entries(rule.where.attrs) : null;
  return (a) => {
    if (a.kind !== rule.assetKind) return false;
    if (ids && !ids.has(a.id) && !a.path.some((p) => ids.has(p))) return false;
    if (attrs) for (const [k, v] of attrs) if (a.attrs[k] === undefined || !sameValue(a.attrs[k], v)) return false;
    return true;
  };
}

function attrsMatch(a: Asset, attrs: Record<string, FieldValue> | undefined): boolean {
  if (!attrs) return true;
  for (const [k, v] of Object.entries(attrs)) if (a.attrs[k] === undefined || !sameValue(a.attrs[k], v)) return false;
  return true;
}

function compile(rule: Rule): CompiledRule {
  return {
    rule,
    onMs: rule.onDelayS * 1000,
    offMs: rule.offDelayS * 1000,
    suppress: rule.suppresses && rule.suppresses.length > 0 ? rule.suppresses.map(globRe) : null,
    matches: whereMatcher(rule),
    points: new Map(),
    groups: new Map(),
    matching: null,
    hash: canonicalJson(rule),
  };
}

function newEvaluatorState(rule: Rule): unknown {
  switch (rule.kind) {
    case 'threshold':
      return { level: null };
    case 'deviation':
    case 'share':
      return { active: false };
    case 'rate':
    case 'flatline':
      return newSeriesBuffer();
    case 'spike':
      return newSpikeState();
    case 'stale':
      return { lastSeen: 0, bad: false };
    case 'baseline':
    case 'neighbour':
      return newLearnState();
    case 'discrete':
      return null;
  }
}

export class AlarmEngine {
  readonly #assets: AssetTree;
  readonly #store: AlarmStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #latest: AlarmEngineOptions['latest'];
  readonly #newId: () => string;
  readonly #maxShelveMs: number;
  readonly #observe: AlarmEngineOptions['observeConditions'];

  #rules = new Map<string, CompiledRule>();
  /** asset kind → field → rules reading that field. */
  #index = new Map<AssetKind, Map<string, CompiledRule[]>>();
  /** asset kind → whole-asset staleness rules. */
  #whole = new Map<AssetKind, CompiledRule[]>();
  /** Open occurrences by id. */
  readonly #open = new Map<string, Point>();
  /** Active points whose rule suppresses others, by asset id. */
  readonly #roots = new Map<string, Set<Point>>();
  readonly #listeners = new Set<(c: AlarmChange) => void>();
  readonly #heap = new JobHeap();
  #timer: TimerHandle | null = null;
  #timerAt = Infinity;
  #readingSeq = 0;
  #started = false;
  #aggregateToken = 0;

  constructor(opts: AlarmEngineOptions) {
    this.#assets = opts.assets;
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#latest = opts.latest;
    this.#newId = opts.newId ?? randomUUID;
    this.#maxShelveMs = (opts.maxShelveHours ?? 72) * 3_600_000;
    this.#observe = opts.observeConditions;
  }

  onChange(fn: (c: AlarmChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  rule(id: string): Rule | undefined {
    return this.#rules.get(id)?.rule;
  }

  rules(): Rule[] {
    return [...this.#rules.values()].map((c) => c.rule);
  }

  // ---- rules -------------------------------------------------------------------------------------------------------

  /**
   * Puts a rule set in force. Unchanged rules keep their state; a changed rule keeps its open alarms, shelving and
   * out-of-service, and starts judging afresh; a removed or disabled rule closes its alarms.
   */
  setRules(rules: readonly Rule[]): void {
    const now = this.#clock.now();
    const next = new Map<string, CompiledRule>();
    for (const r of rules) if (r.enabled) next.set(r.id, compile(r));
    for (const [id, ocr] of this.#rules) {
      const ncr = next.get(id);
      if (ncr && ncr.hash === ocr.hash) {
        next.set(id, ocr);
        continue;
      }
      for (const p of ocr.points.values()) {
        if (!p) continue;
        p.dead = true;
        this.#detach(p);
        this.#unroot(p);
        if (!ncr) {
          if (p.occ) this.#closeSilently(p, now, 'rule_removed', SYSTEM, 'rule removed or disabled');
          continue;
        }
        // Same kind: the point keeps what it learned and saw (baselines, buffers, last contact); else it starts afresh.
        const sameKind = ocr.rule.kind === ncr.rule.kind;
        if (!p.occ && !p.mode && !sameKind) continue;
        const q = this.#newPoint(ncr, p.asset);
        if (!q) {
          if (p.occ) this.#closeSilently(p, now, 'rule_removed', SYSTEM, 'asset no longer matches the rule');
          continue;
        }
        q.occ = p.occ;
        q.mode = p.mode;
        const active = p.occ !== null && isActive(p.occ.state);
        q.delay = { raw: active, rawSince: now, out: active };
        if (sameKind) {
          q.st = p.st;
          q.lastTs = p.lastTs;
          q.verdict = p.verdict;
        }
        if (q.occ) this.#open.set(q.occ.id, q);
        if (q.mode?.mode === 'shelved') this.#scheduleUnshelve(q, q.mode.until ?? now);
        if (ncr.rule.kind === 'stale' && this.#started) this.#judgeStale(q, now);
      }
    }
    this.#rules = next;
    this.#reindex();
    if (this.#started) {
      this.#recomputeSuppression(now);
      this.#seedStale(now);
      this.#armAggregates();
    }
  }

  #reindex(): void {
    this.#index = new Map();
    this.#whole = new Map();
    for (const cr of this.#rules.values()) {
      const r = cr.rule;
      if (isAggregate(r)) continue;
      const fields = fieldsOf(r);
      if (fields.length === 0) {
        let list = this.#whole.get(r.assetKind);
        if (!list) this.#whole.set(r.assetKind, (list = []));
        list.push(cr);
        continue;
      }
      let byField = this.#index.get(r.assetKind);
      if (!byField) this.#index.set(r.assetKind, (byField = new Map()));
      for (const f of fields) {
        let list = byField.get(f);
        if (!list) byField.set(f, (list = []));
        list.push(cr);
      }
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------------------

  /** Reloads open alarms, shelving and out-of-service from the store (after a restart) and starts the timers. */
  async start(): Promise<void> {
    const now = this.#clock.now();
    for (const row of await this.#store.open()) {
      const cr = this.#rules.get(row.rule_id);
      const asset = this.#assets.get(row.asset);
      const p = cr && asset ? this.#pointFor(cr, asset) : null;
      const occ = this.#rowToView(row);
      if (!p) {
        this.#enqueueClose(occ, now, 'rule_removed', SYSTEM, 'rule removed, disabled or asset gone');
        continue;
      }
      p.occ = occ;
      const active = isActive(occ.state);
      p.delay = { raw: active, rawSince: now, out: active };
      this.#open.set(occ.id, p);
    }
    for (const m of await this.#store.points()) {
      const cr = this.#rules.get(m.rule_id);
      const asset = this.#assets.get(m.asset);
      const p = cr && asset ? this.#pointFor(cr, asset) : null;
      if (!p) {
        this.#store.enqueue({ op: 'unpoint', ruleId: m.rule_id, asset: m.asset });
        continue;
      }
      p.mode = { mode: m.mode === 'out_of_service' ? 'out_of_service' : 'shelved', until: m.until, actor: m.actor, actorName: m.actor_name, reason: m.reason, since: m.since };
      if (p.mode.mode === 'shelved') this.#scheduleUnshelve(p, m.until ?? now);
    }
    this.#started = true;
    this.#recomputeSuppression(now);
    this.#seedStale(now);
    this.#armAggregates();
  }

  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
    this.#heap.clear();
    await this.#store.flush();
  }

  // ---- readings ----------------------------------------------------------------------------------------------------

  onReading(r: Reading): void {
    if (!this.#started) return;
    const asset = this.#assets.get(r.asset);
    if (!asset) return;
    const seq = ++this.#readingSeq;
    const whole = this.#whole.get(asset.kind);
    if (whole) {
      let empty = true;
      for (const _ in r.fields) {
        empty = false;
        break;
      }
      const commLoss = r.quality === 'bad' && empty;
      for (const cr of whole) {
        const p = this.#pointFor(cr, asset);
        if (!p) continue;
        const st = p.st as { lastSeen: number; bad: boolean };
        if (commLoss) st.bad = true;
        else {
          st.bad = false;
          if (r.ts > st.lastSeen) st.lastSeen = r.ts;
        }
        this.#judgeStale(p, Math.max(r.ts, p.lastTs));
      }
    }
    const byField = this.#index.get(asset.kind);
    if (!byField || r.quality === 'bad') return;
    for (const f in r.fields) {
      const list = byField.get(f);
      if (!list) continue;
      for (const cr of list) {
        const p = this.#pointFor(cr, asset);
        if (!p || p.seq === seq) continue;
        p.seq = seq;
        this.#evaluate(p, r);
      }
    }
  }

  #value(r: Reading, asset: string, field: string): FieldValue | undefined {
    const v = r.fields[field];
    return v !== undefined ? v : this.#latest(asset)?.get(field)?.value;
  }

  #evaluate(p: Point, r: Reading): void {
    const rule = p.cr.rule;
    const id = p.asset.id;
    let verdict: Verdict | null;
    switch (rule.kind) {
      case 'threshold': {
        let v = toNumber(this.#value(r, id, rule.field));
        if (v === undefined) return;
        if (rule.minus) {
          const m = toNumber(this.#value(r, id, rule.minus));
          if (m === undefined) return;
          v -= m;
        }
        verdict = rule.when && !guardHolds(rule.when, this.#value(r, id, rule.when.field)) ? off(v) : evalThreshold(rule, p.st as { level: Level | null }, v);
        if (!verdict.active) (p.st as { level: Level | null }).level = null;
        break;
      }
      case 'discrete': {
        const v = this.#value(r, id, rule.field);
        if (v === undefined) return;
        verdict = rule.when && !guardHolds(rule.when, this.#value(r, id, rule.when.field)) ? off(v) : evalDiscrete(rule, v);
        break;
      }
      case 'deviation': {
        const v = toNumber(this.#value(r, id, rule.field));
        const sp = typeof rule.setpoint === 'number' ? rule.setpoint : toNumber(this.#value(r, id, rule.setpoint));
        if (v === undefined || sp === undefined) return;
        const st = p.st as { active: boolean };
        if (rule.when && !guardHolds(rule.when, this.#value(r, id, rule.when.field))) {
          st.active = false;
          verdict = off(v - sp);
        } else verdict = evalDeviation(rule, st, v, sp);
        break;
      }
      case 'rate':
      case 'flatline':
      case 'spike': {
        const v = toNumber(r.fields[rule.field]);
        if (v === undefined) return;
        if (rule.kind === 'rate') verdict = evalRate(rule, p.st as ReturnType<typeof newSeriesBuffer>, r.ts, v);
        else if (rule.kind === 'flatline') verdict = evalFlatline(rule, p.st as ReturnType<typeof newSeriesBuffer>, r.ts, v);
        else verdict = evalSpike(rule, p.st as ReturnType<typeof newSpikeState>, r.ts, v);
        break;
      }
      case 'stale': {
        const st = p.st as { lastSeen: number; bad: boolean };
        if (r.ts > st.lastSeen) st.lastSeen = r.ts;
        st.bad = false;
        this.#judgeStale(p, Math.max(r.ts, p.lastTs));
        return;
      }
      default:
        return;
    }
    if (verdict) this.#feed(p, verdict, r.ts);
  }

  #judgeStale(p: Point, now: number): void {
    const rule = p.cr.rule;
    if (rule.kind !== 'stale') return;
    const st = p.st as { lastSeen: number; bad: boolean };
    const maxAgeMs = rule.maxAgeS * 1000;
    if (!rule.badQuality) st.bad = false;
    this.#feed(p, evalStale(maxAgeMs, st, now), now);
    if (!p.checkPending && !p.delay.raw) {
      p.checkPending = true;
      this.#schedule(st.lastSeen + maxAgeMs + 1, () => {
        p.checkPending = false;
        if (!p.dead) this.#judgeStale(p, this.#clock.now());
      });
    }
  }

  /** Applies a verdict at time ts: delays, then the transition when the delayed condition flips. */
  #feed(p: Point, v: Verdict, ts: number): void {
    if (ts < p.lastTs) return;
    p.lastTs = ts;
    p.verdict = v;
    if (this.#observe && v.active !== p.delay.raw) this.#observe(p.cr.rule, p.asset.id, v.active, ts);
    const wasOut = p.delay.out;
    const flipped = applyDelay(p.delay, v.active, ts, p.cr.onMs, p.cr.offMs);
    if (flipped !== null) this.#onFlip(p, flipped);
    else if (wasOut && v.active && p.occ && v.level !== p.occ.level) this.#escalate(p, v, ts);
    this.#scheduleDelay(p);
  }

  /** Arms a job for when the point's pending delay runs out (a later judgement may make it moot). */
  #scheduleDelay(p: Point): void {
    const due = delayDue(p.delay, p.cr.onMs, p.cr.offMs);
    // One job per pending flip: a judgement that leaves the due time as it was needs none.
    if (due === null || due === p.dueAt) return;
    p.dueAt = due;
    const token = ++p.dueToken;
    this.#schedule(due, () => {
      if (p.dead || p.dueToken !== token) return;
      p.dueAt = null;
      const at = pollDelay(p.delay, this.#clock.now(), p.cr.onMs, p.cr.offMs);
      if (at !== null) this.#onFlip(p, at);
    });
  }

  // ---- aggregates --------------------------------------------------------------------------------------------------

  #armAggregates(): void {
    const token = ++this.#aggregateToken;
    const now = this.#clock.now();
    for (const cr of this.#rules.values()) {
      const r = cr.rule;
      if (!isAggregate(r)) continue;
      const every = r.everyS * 1000;
      const run = (): void => {
        if (token !== this.#aggregateToken || this.#rules.get(r.id) !== cr) return;
        const t = this.#clock.now();
        try {
          this.#evaluateAggregate(cr, t);
        } catch (err) {
          this.#log.error({ err, rule: r.id }, 'aggregate rule failed');
        }
        this.#schedule(t + every, run);
      };
      this.#schedule(now + every, run);
    }
  }

  /** One round of an aggregate rule over the latest values (exported for tests through `evaluateAggregates`). */
  #evaluateAggregate(cr: CompiledRule, now: number): void {
    const r = cr.rule;
    if (!isAggregate(r)) return;
    const maxAge = r.maxAgeS * 1000;
    const fresh = (id: string): number | undefined => {
      const lv = this.#latest(id)?.get(r.field);
      if (!lv || lv.quality === 'bad' || now - lv.ts > maxAge) return undefined;
      return toNumber(lv.value);
    };
    if (r.kind === 'share') {
      for (const g of this.#matching(cr)) {
        const p = this.#pointFor(cr, g);
        if (!p) continue;
        let members = cr.groups.get(g.id);
        if (!members) cr.groups.set(g.id, (members = this.#assets.descendants(g.id, r.member.kind).filter((m) => attrsMatch(m, r.member.attrs))));
        let counted = 0;
        let beyond = 0;
        for (const m of members) {
          const v = fresh(m.id);
          if (v === undefined) continue;
          counted++;
          if ((r.below !== undefined && v < r.below) || (r.above !== undefined && v > r.above)) beyond++;
        }
        const verdict = evalShare(r, p.st as { active: boolean }, beyond, counted);
        if (verdict) this.#feed(p, verdict, now);
      }
      return;
    }
    if (r.kind === 'baseline') {
      for (const a of this.#matching(cr)) {
        const p = this.#pointFor(cr, a);
        if (!p) continue;
        const v = fresh(a.id);
        if (v === undefined) continue;
        const holding = p.delay.raw || p.delay.out || p.suppressedBy !== null || this.#suppressorOf(p) !== null;
        const verdict = evalBaseline(r, p.st as ReturnType<typeof newLearnState>, v, now, holding);
        if (verdict) this.#feed(p, verdict, now);
      }
      return;
    }
    // neighbour: the mean of each group's peers is computed once per round.
    const means = new Map<string, { sum: number; n: number }>();
    const peerAttrs = r.peers?.attrs;
    for (const a of this.#matching(cr)) {
      const p = this.#pointFor(cr, a);
      if (!p) continue;
      const v = fresh(a.id);
      if (v === undefined) continue;
      p.place ??= { group: this.#assets.ancestorOfKind(a.id, r.group)?.id ?? null, peer: attrsMatch(a, peerAttrs) };
      const gid = p.place.group;
      if (gid === null) continue;
      let m = means.get(gid);
      if (!m) {
        let peers = cr.groups.get(gid);
        if (!peers) cr.groups.set(gid, (peers = this.#assets.descendants(gid, r.assetKind).filter((x) => attrsMatch(x, peerAttrs))));
        m = { sum: 0, n: 0 };
        for (const peer of peers) {
          const pv = fresh(peer.id);
          if (pv === undefined) continue;
          m.sum += pv;
          m.n++;
        }
        means.set(gid, m);
      }
      const self = p.place.peer;
      const n = self ? m.n - 1 : m.n;
      if (n < r.minPeers) continue;
      const mean = (self ? m.sum - v : m.sum) / n;
      // Nothing is learned while a cause upstream disturbs the plant (its consequences are not the new normal).
      const holding = p.delay.raw || p.delay.out || p.suppressedBy !== null || this.#suppressorOf(p) !== null;
      const verdict = evalNeighbour(r, p.st as ReturnType<typeof newLearnState>, v, mean, now, holding);
      if (verdict) this.#feed(p, verdict, now);
    }
  }

  /** The assets an aggregate rule judges (its kind, filtered by `where`), resolved once. */
  #matching(cr: CompiledRule): readonly Asset[] {
    cr.matching ??= this.#assets.ofKind(cr.rule.assetKind).filter((a) => cr.matches(a));
    return cr.matching;
  }

  // ---- timers ------------------------------------------------------------------------------------------------------

  #schedule(at: number, run: () => void): void {
    this.#heap.push(at, run);
    if (at < this.#timerAt) this.#arm(at);
  }

  #arm(at: number): void {
    if (!this.#started) return;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    const delay = Math.min(Math.max(0, at - this.#clock.now()), 2_000_000_000);
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(), delay);
    this.#timer.unref?.();
  }

  #onTimer(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    if (!this.#started) return;
    const now = this.#clock.now();
    for (let job = this.#heap.peek(); job && job.at <= now; job = this.#heap.peek()) {
      this.#heap.pop();
      try {
        job.run();
      } catch (err) {
        this.#log.error({ err }, 'alarm engine job failed');
      }
    }
    const next = this.#heap.peek();
    if (next) this.#arm(next.at);
  }

  // ---- points ------------------------------------------------------------------------------------------------------

  #pointFor(cr: CompiledRule, asset: Asset): Point | null {
    const p = cr.points.get(asset.id);
    if (p !== undefined) return p;
    return this.#newPoint(cr, asset);
  }

  #newPoint(cr: CompiledRule, asset: Asset): Point | null {
    if (!cr.matches(asset)) {
      cr.points.set(asset.id, null);
      return null;
    }
    const p: Point = {
      cr,
      asset,
      st: newEvaluatorState(cr.rule),
      delay: newDelayState(),
      lastTs: -Infinity,
      verdict: null,
      occ: null,
      mode: null,
      suppressedBy: null,
      suppressing: null,
      dueToken: 0,
      dueAt: null,
      releaseToken: 0,
      checkPending: false,
      seq: 0,
      dead: false,
      place: null,
    };
    cr.points.set(asset.id, p);
    return p;
  }

  /** Staleness rules watch every asset that has reported (now or before a restart); `now` starts their clock. */
  #seedStale(now: number): void {
    for (const list of this.#whole.values()) {
      for (const cr of list) this.#seedStaleRule(cr, now);
    }
    for (const byField of this.#index.values()) {
      for (const list of byField.values()) for (const cr of list) if (cr.rule.kind === 'stale') this.#seedStaleRule(cr, now);
    }
  }

  #seedStaleRule(cr: CompiledRule, now: number): void {
    const r = cr.rule;
    if (r.kind !== 'stale') return;
    for (const a of this.#assets.ofKind(r.assetKind)) {
      if (cr.points.has(a.id)) continue;
      const latest = this.#latest(a.id);
      if (!latest || latest.size === 0 || (r.field && !latest.has(r.field))) continue;
      const p = this.#newPoint(cr, a);
      if (!p) continue;
      (p.st as { lastSeen: number }).lastSeen = now;
      this.#judgeStale(p, now);
    }
  }

  // ---- transitions -------------------------------------------------------------------------------------------------

  #onFlip(p: Point, at: number): void {
    if (p.delay.out) {
      p.releaseToken++;
      if (p.cr.suppress && p.mode?.mode !== 'out_of_service') this.#root(p);
      this.#activate(p, at);
      if (p.cr.suppress && p.mode?.mode !== 'out_of_service') this.#suppressInScope(p, at);
    } else {
      this.#deactivate(p, at);
      const hold = p.cr.rule.suppressReleaseS * 1000;
      if (hold > 0 && p.suppressing) {
        // The cause is gone but the plant is still recovering: keep suppressing until the release time.
        const token = ++p.releaseToken;
        this.#schedule(at + hold, () => {
          if (!p.dead && p.releaseToken === token && !p.delay.out) this.#unroot(p, at + hold);
        });
      } else {
        this.#unroot(p, at);
      }
    }
  }

  #activate(p: Point, at: number): void {
    if (p.mode) return;
    const root = this.#suppressorOf(p);
    if (root) {
      this.#attach(p, root);
      return;
    }
    this.#annunciate(p, at);
  }

  #annunciate(p: Point, at: number): void {
    const rule = p.cr.rule;
    const v = p.verdict;
    const level = v?.level ?? null;
    const priority = this.#priorityFor(rule, level);
    const value = v?.value ?? null;
    let occ = p.occ;
    if (occ) {
      const from = occ.state;
      occ.state = nextState(occ.state, 'activate') ?? 'unack';
      occ.activations++;
      occ.clearedAt = null;
      occ.level = level;
      occ.priority = priority;
      occ.value = value;
      occ.updatedAt = at;
      this.#record(p, occ, 'activate', from, at, SYSTEM, 're-alarm');
    } else {
      occ = {
        id: this.#newId(),
        ruleId: rule.id,
        asset: p.asset.id,
        assetName: p.asset.name,
        assetKind: p.asset.kind,
        name: rule.name,
        category: rule.category,
        cause: causeOf(rule),
        priority,
        level,
        state: 'unack',
        value,
        activatedAt: at,
        ackedAt: null,
        ackedBy: null,
        clearedAt: null,
        closedAt: null,
        updatedAt: at,
        shelvedUntil: null,
        suppressedBy: null,
        outOfService: false,
        activations: 1,
      };
      p.occ = occ;
      this.#open.set(occ.id, p);
      this.#store.enqueue({ op: 'insert', row: this.#viewToRow(occ) });
      this.#record(p, occ, 'activate', 'normal', at, SYSTEM, '', false);
    }
    this.#emit(p, 'activated', at, SYSTEM, '');
  }

  #deactivate(p: Point, at: number): void {
    const occ = p.occ;
    this.#detach(p);
    if (!occ) return;
    if (occ.suppressedBy !== null || occ.shelvedUntil !== null || occ.outOfService) {
      this.#closeSilently(p, at, 'clear', SYSTEM, '');
      return;
    }
    const from = occ.state;
    const to = nextState(from, 'clear');
    if (to === null || to === from) return;
    occ.state = to;
    occ.clearedAt = at;
    occ.updatedAt = at;
    if (to === 'normal') {
      occ.closedAt = at;
      this.#finish(p);
    }
    this.#record(p, occ, 'clear', from, at, SYSTEM, '');
    this.#emit(p, 'cleared', at, SYSTEM, '', occ);
    if (to === 'normal') this.#emit(p, 'closed', at, SYSTEM, '', occ);
  }

  /** Closes an occurrence that is not shown (suppressed, shelved) or whose rule went away: no acknowledgement needed. */
  #closeSilently(p: Point, at: number, event: string, actor: Actor, comment: string): void {
    const occ = p.occ;
    if (!occ) return;
    const from = occ.state;
    occ.state = 'normal';
    if (occ.clearedAt === null || isActive(from)) occ.clearedAt = at;
    occ.closedAt = at;
    occ.updatedAt = at;
    this.#finish(p);
    this.#record(p, occ, event, from, at, actor, comment);
    this.#emit(p, 'cleared', at, actor, comment, occ);
    this.#emit(p, 'closed', at, actor, comment, occ);
  }

  /** For occurrences restored without a point (rule gone): close in the store only. */
  #enqueueClose(occ: AlarmView, at: number, event: string, actor: Actor, comment: string): void {
    const from = occ.state;
    occ.state = 'normal';
    occ.closedAt = at;
    occ.clearedAt ??= at;
    occ.updatedAt = at;
    this.#store.enqueue({ op: 'update', id: occ.id, set: this.#viewToRow(occ) });
    this.#store.enqueue({ op: 'event', row: { alarm_id: occ.id, rule_id: occ.ruleId, asset: occ.asset, ts: at, event, from_state: from, to_state: 'normal', priority: occ.priority, value: JSON.stringify(occ.value), actor: actor.id, actor_name: actor.name, comment } });
  }

  #finish(p: Point): void {
    if (p.occ) this.#open.delete(p.occ.id);
    p.occ = null;
  }

  #escalate(p: Point, v: Verdict, at: number): void {
    const occ = p.occ!;
    const priority = this.#priorityFor(p.cr.rule, v.level);
    const from = occ.state;
    const up = PRIORITY_RANK[priority] > PRIORITY_RANK[occ.priority];
    occ.level = v.level;
    occ.priority = priority;
    occ.value = v.value;
    occ.updatedAt = at;
    if (up && occ.state === 'ack') occ.state = 'unack';
    this.#record(p, occ, 'escalate', from, at, SYSTEM, `level ${v.level ?? '-'}`);
    this.#emit(p, 'escalated', at, SYSTEM, '');
  }

  #priorityFor(rule: Rule, level: Level | null): Priority {
    if (rule.kind === 'threshold' && level && rule.levelPriority?.[level]) return rule.levelPriority[level];
    return rule.priority;
  }

  // ---- suppression -------------------------------------------------------------------------------------------------

  #root(p: Point): void {
    let set = this.#roots.get(p.asset.id);
    if (!set) this.#roots.set(p.asset.id, (set = new Set()));
    set.add(p);
    p.suppressing ??= new Set();
  }

  /** p is no longer a cause: what it suppressed is annunciated if its condition still holds (and nothing else hides it). */
  #unroot(p: Point, at?: number): void {
    const set = this.#roots.get(p.asset.id);
    if (!set?.has(p)) return;
    set.delete(p);
    if (set.size === 0) this.#roots.delete(p.asset.id);
    const freed = p.suppressing ? [...p.suppressing] : [];
    p.suppressing = null;
    if (at === undefined) {
      for (const q of freed) q.suppressedBy = null;
      return;
    }
    for (const q of freed) {
      q.suppressedBy = null;
      if (q.dead || !q.delay.out) continue;
      const other = this.#suppressorOf(q);
      if (other) {
        this.#attach(q, other);
        if (q.occ) q.occ.suppressedBy = other.occ?.id ?? `${other.cr.rule.id}@${other.asset.id}`;
        continue;
      }
      if (q.occ) {
        const occ = q.occ;
        occ.suppressedBy = null;
        occ.updatedAt = at;
        this.#record(q, occ, 'unsuppress', occ.state, at, SYSTEM, `cause ${p.cr.rule.id} at ${p.asset.id} cleared`);
        this.#emit(q, 'unsuppressed', at, SYSTEM, '');
      } else if (q.cr.suppress || q.cr.onMs === 0) {
        this.#activate(q, at);
      } else {
        // A condition that arose under the cause must now hold for its own on-delay before it is shown.
        q.delay = { raw: true, rawSince: at, out: false };
        this.#scheduleDelay(q);
      }
    }
  }

  #suppresses(root: Point, p: Point): boolean {
    if (root === p || !root.cr.suppress) return false;
    const id = p.cr.rule.id;
    return root.cr.suppress.some((re) => re.test(id));
  }

  #suppressorOf(p: Point): Point | null {
    const a = p.asset;
    for (let i = a.path.length; i >= 0; i--) {
      const id = i === a.path.length ? a.id : a.path[i]!;
      const roots = this.#roots.get(id);
      if (!roots) continue;
      for (const root of roots) if (this.#suppresses(root, p) && root.mode?.mode !== 'out_of_service') return root;
    }
    return null;
  }

  #attach(p: Point, root: Point): void {
    p.suppressedBy = root;
    (root.suppressing ??= new Set()).add(p);
  }

  #detach(p: Point): void {
    p.suppressedBy?.suppressing?.delete(p);
    p.suppressedBy = null;
  }

  #inScope(root: Point, p: Point): boolean {
    return p.asset.id === root.asset.id || p.asset.path.includes(root.asset.id);
  }

  /** A new cause hides the active, shown alarms it explains. */
  #suppressInScope(root: Point, at: number): void {
    for (const p of [...this.#open.values()]) {
      const occ = p.occ;
      if (!occ || p === root || p.suppressedBy || occ.suppressedBy !== null || !isActive(occ.state)) continue;
      if (!this.#suppresses(root, p) || !this.#inScope(root, p)) continue;
      this.#attach(p, root);
      occ.suppressedBy = root.occ?.id ?? `${root.cr.rule.id}@${root.asset.id}`;
      occ.updatedAt = at;
      this.#record(p, occ, 'suppress', occ.state, at, SYSTEM, `by ${root.cr.rule.id} at ${root.asset.id}`);
      this.#emit(p, 'suppressed', at, SYSTEM, '');
    }
  }

  /** Rebuilds causes and suppression from scratch (after a restart or a rule change). */
  #recomputeSuppression(at: number): void {
    const points: Point[] = [];
    for (const cr of this.#rules.values()) for (const p of cr.points.values()) if (p) points.push(p);
    this.#roots.clear();
    for (const p of points) {
      p.suppressedBy = null;
      p.suppressing = null;
    }
    for (const p of points) if (p.delay.out && p.cr.suppress && p.mode?.mode !== 'out_of_service') this.#root(p);
    for (const p of points) {
      if (!p.delay.out) continue;
      const root = this.#suppressorOf(p);
      const occ = p.occ;
      if (root) {
        this.#attach(p, root);
        if (occ && occ.suppressedBy === null && isActive(occ.state)) {
          occ.suppressedBy = root.occ?.id ?? `${root.cr.rule.id}@${root.asset.id}`;
          this.#record(p, occ, 'suppress', occ.state, at, SYSTEM, `by ${root.cr.rule.id} at ${root.asset.id}`);
          this.#emit(p, 'suppressed', at, SYSTEM, '');
        }
      } else if (occ && occ.suppressedBy !== null) {
        occ.suppressedBy = null;
        this.#record(p, occ, 'unsuppress', occ.state, at, SYSTEM, 'cause gone');
        this.#emit(p, 'unsuppressed', at, SYSTEM, '');
      } else if (!occ && !p.mode) {
        this.#annunciate(p, at);
      }
    }
  }

  // ---- operator actions --------------------------------------------------------------------------------------------

  #openPoint(id: string): Point {
    const p = this.#open.get(id);
    if (!p || !p.occ) throw new WarmgridError('CONFLICT', `alarm ${id} is not open (already back to normal and acknowledged, or unknown)`);
    return p;
  }

  ack(id: string, actor: Actor, comment = ''): AlarmView {
    const p = this.#openPoint(id);
    const occ = p.occ!;
    const from = occ.state;
    const to = nextState(from, 'ack');
    if (to === null || from === 'ack') throw new WarmgridError('CONFLICT', `alarm ${id} is already acknowledged`);
    const now = this.#clock.now();
    occ.state = to;
    occ.ackedAt = now;
    occ.ackedBy = actor.name;
    occ.updatedAt = now;
    if (to === 'normal') {
      occ.closedAt = now;
      this.#finish(p);
    }
    this.#record(p, occ, 'ack', from, now, actor, comment);
    this.#emit(p, 'acked', now, actor, comment, occ);
    if (to === 'normal') this.#emit(p, 'closed', now, actor, comment, occ);
    return { ...occ };
  }

  shelve(id: string, actor: Actor, reason: string, until: number): AlarmView {
    const p = this.#openPoint(id);
    const occ = p.occ!;
    const now = this.#clock.now();
    if (until <= now) throw new WarmgridError('BAD_REQUEST', 'the shelving must end in the future');
    if (until - now > this.#maxShelveMs) throw new WarmgridError('BAD_REQUEST', `alarms may be shelved for at most ${this.#maxShelveMs / 3_600_000} h`);
    p.mode = { mode: 'shelved', until, actor: actor.id, actorName: actor.name, reason, since: now };
    this.#store.enqueue({ op: 'point', row: this.#modeRow(p) });
    occ.shelvedUntil = until;
    occ.updatedAt = now;
    this.#record(p, occ, 'shelve', occ.state, now, actor, reason);
    this.#emit(p, 'shelved', now, actor, reason, occ);
    this.#scheduleUnshelve(p, until);
    return { ...occ };
  }

  #scheduleUnshelve(p: Point, until: number): void {
    const mode = p.mode;
    this.#schedule(until, () => {
      if (!p.dead && p.mode === mode) this.#unshelvePoint(p, SYSTEM, 'shelving expired');
    });
  }

  unshelve(id: string, actor: Actor, comment = ''): AlarmView {
    const p = this.#openPoint(id);
    if (p.mode?.mode !== 'shelved') throw new WarmgridError('CONFLICT', `alarm ${id} is not shelved`);
    const occ = p.occ!;
    this.#unshelvePoint(p, actor, comment);
    return { ...occ };
  }

  #unshelvePoint(p: Point, actor: Actor, comment: string): void {
    const now = this.#clock.now();
    p.mode = null;
    this.#store.enqueue({ op: 'unpoint', ruleId: p.cr.rule.id, asset: p.asset.id });
    const occ = p.occ;
    if (occ) {
      occ.shelvedUntil = null;
      occ.updatedAt = now;
      this.#record(p, occ, 'unshelve', occ.state, now, actor, comment);
      this.#emit(p, 'unshelved', now, actor, comment);
    } else if (p.delay.out) {
      this.#activate(p, now);
    }
  }

  /** Takes the alarm's point out of service: the occurrence closes and the point raises nothing until returned. */
  outOfService(id: string, actor: Actor, reason: string): AlarmView {
    const p = this.#openPoint(id);
    const occ = p.occ!;
    const now = this.#clock.now();
    p.mode = { mode: 'out_of_service', until: null, actor: actor.id, actorName: actor.name, reason, since: now };
    this.#store.enqueue({ op: 'point', row: this.#modeRow(p) });
    this.#unroot(p, now);
    const from = occ.state;
    occ.outOfService = true;
    occ.state = 'normal';
    occ.closedAt = now;
    occ.updatedAt = now;
    this.#finish(p);
    this.#record(p, occ, 'out_of_service', from, now, actor, reason);
    this.#emit(p, 'out_of_service', now, actor, reason, occ);
    this.#emit(p, 'closed', now, actor, reason, occ);
    return { ...occ };
  }

  /** Returns a point to service, given the occurrence that was taken out; raises it again if its condition holds. */
  async returnToService(id: string, actor: Actor, comment = ''): Promise<AlarmView> {
    await this.#store.flush();
    const row = await this.#store.get(id);
    if (!row) throw new WarmgridError('NOT_FOUND', `no alarm ${id}`);
    const cr = this.#rules.get(row.rule_id);
    const asset = this.#assets.get(row.asset);
    const p = cr && asset ? this.#pointFor(cr, asset) : null;
    if (!p || p.mode?.mode !== 'out_of_service') throw new WarmgridError('CONFLICT', `alarm ${id} is not out of service`);
    const now = this.#clock.now();
    p.mode = null;
    this.#store.enqueue({ op: 'unpoint', ruleId: row.rule_id, asset: row.asset });
    const occ = this.#rowToView(row);
    this.#store.enqueue({ op: 'event', row: { alarm_id: id, rule_id: row.rule_id, asset: row.asset, ts: now, event: 'return_to_service', from_state: occ.state, to_state: occ.state, priority: occ.priority, value: row.value, actor: actor.id, actor_name: actor.name, comment } });
    this.#emitView(p.cr.rule, 'returned_to_service', occ, now, actor, comment, false);
    if (p.delay.out) {
      if (p.cr.suppress) this.#root(p);
      this.#activate(p, now);
      if (p.cr.suppress) this.#suppressInScope(p, now);
    }
    return occ;
  }

  // ---- reads -------------------------------------------------------------------------------------------------------

  /** Open occurrences in memory (shown or not), newest first. */
  openAlarms(): AlarmView[] {
    return [...this.#open.values()].map((p) => ({ ...p.occ! })).sort((a, b) => b.activatedAt - a.activatedAt);
  }

  openAlarm(id: string): AlarmView | undefined {
    const occ = this.#open.get(id)?.occ;
    return occ ? { ...occ } : undefined;
  }

  /** What an open alarm hides right now: the points it suppresses (with an occurrence id when they had one). */
  suppressedUnder(id: string): { ruleId: string; asset: string; alarmId: string | null }[] {
    const p = this.#open.get(id);
    return p?.suppressing ? [...p.suppressing].map((q) => ({ ruleId: q.cr.rule.id, asset: q.asset.id, alarmId: q.occ?.id ?? null })) : [];
  }

  /** Shelved and out-of-service points. */
  modes(): (AlarmPointsTable & { alarmId: string | null })[] {
    const out: (AlarmPointsTable & { alarmId: string | null })[] = [];
    for (const cr of this.#rules.values()) for (const p of cr.points.values()) if (p?.mode) out.push({ ...this.#modeRow(p), alarmId: p.occ?.id ?? null });
    return out;
  }

  stats(): { rules: number; points: number; open: number; causes: number; jobs: number } {
    let points = 0;
    for (const cr of this.#rules.values()) for (const p of cr.points.values()) if (p) points++;
    let causes = 0;
    for (const s of this.#roots.values()) causes += s.size;
    return { rules: this.#rules.size, points, open: this.#open.size, causes, jobs: this.#heap.size };
  }

  // ---- storage and notification ------------------------------------------------------------------------------------

  #record(p: Point, occ: AlarmView, event: string, from: AlarmState, at: number, actor: Actor, comment: string, update = true): void {
    if (update) this.#store.enqueue({ op: 'update', id: occ.id, set: this.#viewToRow(occ) });
    this.#store.enqueue({
      op: 'event',
      row: {
        alarm_id: occ.id,
        rule_id: p.cr.rule.id,
        asset: p.asset.id,
        ts: at,
        event,
        from_state: from,
        to_state: occ.state,
        priority: occ.priority,
        value: JSON.stringify(occ.value),
        actor: actor.id,
        actor_name: actor.name,
        comment,
      },
    });
  }

  #emit(p: Point, type: AlarmChangeType, at: number, actor: Actor, comment: string, occ: AlarmView | null = p.occ): void {
    if (!occ) return;
    const annunciated = occ.state !== 'normal' && occ.suppressedBy === null && occ.shelvedUntil === null && !occ.outOfService;
    this.#emitView(p.cr.rule, type, { ...occ }, at, actor, comment, annunciated);
  }

  #emitView(rule: Rule, type: AlarmChangeType, alarm: AlarmView, at: number, actor: Actor, comment: string, annunciated: boolean): void {
    if (this.#listeners.size === 0) return;
    const change: AlarmChange = { type, alarm, at, actor: actor.id, actorName: actor.name, comment, annunciated, rule };
    for (const fn of this.#listeners) {
      try {
        fn(change);
      } catch (err) {
        this.#log.error({ err }, 'alarm change listener failed');
      }
    }
  }

  #modeRow(p: Point): AlarmPointsTable {
    const m = p.mode!;
    return { rule_id: p.cr.rule.id, asset: p.asset.id, mode: m.mode, until: m.until, actor: m.actor, actor_name: m.actorName, reason: m.reason, since: m.since };
  }

  #viewToRow(v: AlarmView): AlarmRow {
    return {
      id: v.id,
      rule_id: v.ruleId,
      asset: v.asset,
      asset_kind: v.assetKind,
      name: v.name,
      category: v.category,
      cause: v.cause,
      priority: v.priority,
      level: v.level,
      state: v.state,
      value: JSON.stringify(v.value),
      activated_at: v.activatedAt,
      acked_at: v.ackedAt,
      acked_by: v.ackedBy,
      cleared_at: v.clearedAt,
      closed_at: v.closedAt,
      updated_at: v.updatedAt,
      shelved_until: v.shelvedUntil,
      suppressed_by: v.suppressedBy,
      out_of_service: v.outOfService ? 1 : 0,
      activations: v.activations,
    };
  }

  #rowToView(r: AlarmRow): AlarmView {
    return rowToView(r, this.#assets.get(r.asset)?.name ?? r.asset);
  }
}

export function rowToView(r: AlarmRow, assetName: string): AlarmView {
  let value: AlarmView['value'] = null;
  try {
    const v = JSON.parse(r.value) as unknown;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') value = v;
  } catch {
    value = null;
  }
  return {
    id: r.id,
    ruleId: r.rule_id,
    asset: r.asset,
    assetName,
    assetKind: r.asset_kind,
    name: r.name,
    category: r.category as Category,
    cause: r.cause,
    priority: r.priority as Priority,
    level: (r.level as Level | null) ?? null,
    state: r.state as AlarmState,
    value,
    activatedAt: r.activated_at,
    ackedAt: r.acked_at,
    ackedBy: r.acked_by,
    clearedAt: r.cleared_at,
    closedAt: r.closed_at,
    updatedAt: r.updated_at,
    shelvedUntil: r.shelved_until,
    suppressedBy: r.suppressed_by,
    outOfService: r.out_of_service === 1,
    activations: r.activations,
  };
}
