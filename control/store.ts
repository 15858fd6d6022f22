/**
 * The control tables in the state database (control/migrations.ts): substation control state, advice history and
 * setpoint write history. Only control/service.ts writes them; every method is one query (or one small transaction).
 */
import type { StateDb } from '../state/db.ts';
import type { AdviceExplanation } from './advice.ts';
import type { Check } from './guards.ts';

export type ControlMode = 'manual' | 'auto';
export type WriteStatus = 'pending' | 'executed' | 'failed' | 'rolled_back' | 'refused' | 'expired' | 'cancelled';
export const WRITE_STATUSES: readonly WriteStatus[] = ['pending', 'executed', 'failed', 'rolled_back', 'refused', 'expired', 'cancelled'];

export interface SubstationState {
  asset: string;
  writesEnabled: boolean | null;
  mode: ControlMode;
  curve: unknown;
  integralK: number;
  updatedAt: number;
  updatedBy: string;
}

export interface AdviceRecord {
  id: string;
  asset: string;
  ts: number;
  point: string;
  valid: boolean;
  recommendedC: number | null;
  currentSetpointC: number | null;
  measuredSupplyC: number | null;
  changeK: number | null;
  explanation: AdviceExplanation;
}

export interface WriteRecord {
  id: string;
  asset: string;
  point: string;
  mode: 'manual' | 'auto';
  status: WriteStatus;
  requestedAt: number;
  requestedBy: { id: string; name: string };
  oldValue: number | null;
  newValue: number;
  adviceId: string | null;
  reason: string;
  checks: Check[];
  expiresAt: number | null;
  confirmedAt: number | null;
  confirmedBy: string | null;
  readBack: number | null;
  result: Record<string, unknown>;
  updatedAt: number;
}

export class ControlStore {
  constructor(private readonly db: StateDb) {}

  async substationStates(): Promise<SubstationState[]> {
    const rows = await this.db.selectFrom('control_substations').selectAll().execute();
    return rows.map((r) => ({
      asset: r.asset,
      writesEnabled: r.writes_enabled === null ? null : r.writes_enabled === 1,
      mode: r.mode === 'auto' ? 'auto' : 'manual',
      curve: r.curve === null ? null : (JSON.parse(r.curve) as unknown),
      integralK: Number(r.integral_k),
      updatedAt: Number(r.updated_at),
      updatedBy: r.updated_by,
    }));
  }

  /** Creates or updates a substation's row; fields left out keep their value. */
  async saveSubstation(asset: string, patch: { writesEnabled?: boolean | null; mode?: ControlMode; curve?: unknown; integralK?: number }, at: number, by: string): Promise<void> {
    const values = {
      asset,
      writes_enabled: patch.writesEnabled === undefined || patch.writesEnabled === null ? null : patch.writesEnabled ? 1 : 0,
      mode: patch.mode ?? 'manual',
      curve: patch.curve === undefined || patch.curve === null ? null : JSON.stringify(patch.curve),
      integral_k: patch.integralK ?? 0,
      updated_at: at,
      updated_by: by,
    };
    const set: Record<string, unknown> = { updated_at: at, updated_by: by };
    if (patch.writesEnabled !== undefined) set['writes_enabled'] = values.writes_enabled;
    if (patch.mode !== undefined) set['mode'] = values.mode;
    if (patch.curve !== undefined) set['curve'] = values.curve;
    if (patch.integralK !== undefined) set['integral_k'] = values.integral_k;
    await this.db
      .insertInto('control_substations')
      .values(values)
      .onConflict((oc) => oc.column('asset').doUpdateSet(set))
      .execute();
  }

  async addAdvice(a: AdviceRecord): Promise<void> {
    await this.db
      .insertInto('control_advice')
      .values({
        id: a.id,
        asset: a.asset,
        ts: a.ts,
        point: a.point,
        valid: a.valid ? 1 : 0,
        recommended: a.recommendedC,
        current_setpoint: a.currentSetpointC,
        explanation: JSON.stringify({ measuredSupplyC: a.measuredSupplyC, changeK: a.changeK, ...a.explanation }),
      })
      .execute();
  }

  async advice(id: string): Promise<AdviceRecord | undefined> {
    const r = await this.db.selectFrom('control_advice').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? adviceFromRow(r) : undefined;
  }

  async adviceHistory(asset: string, q: { from?: number; to?: number; limit: number }): Promise<AdviceRecord[]> {
    let qb = this.db.selectFrom('control_advice').selectAll().where('asset', '=', asset);
    if (q.from !== undefined) qb = qb.where('ts', '>=', q.from);
    if (q.to !== undefined) qb = qb.where('ts', '<', q.to);
    const rows = await qb.orderBy('ts', 'desc').limit(q.limit).execute();
    return rows.map(adviceFromRow);
  }

  async latestAdvice(asset: string): Promise<AdviceRecord | undefined> {
    return (await this.adviceHistory(asset, { limit: 1 }))[0];
  }

  async pruneAdvice(before: number): Promise<void> {
    await this.db.deleteFrom('control_advice').where('ts', '<', before).execute();
  }

  async addWrite(w: WriteRecord, tokenHash: string | null): Promise<void> {
    await this.db
      .insertInto('control_writes')
      .values({
        id: w.id,
        asset: w.asset,
        point: w.point,
        mode: w.mode,
        status: w.status,
        requested_at: w.requestedAt,
        requested_by: w.requestedBy.id,
        requested_by_name: w.requestedBy.name,
        old_value: w.oldValue,
        new_value: w.newValue,
        advice_id: w.adviceId,
        reason: w.reason,
        checks: JSON.stringify(w.checks),
        token_hash: tokenHash,
        expires_at: w.expiresAt,
        confirmed_at: w.confirmedAt,
        confirmed_by: w.confirmedBy,
        read_back: w.readBack,
        result: JSON.stringify(w.result),
        updated_at: w.updatedAt,
      })
      .execute();
  }

  /** Updates a write's outcome; with `fromStatus`, only if it is still in that status (returns whether it was). */
  async updateWrite(
    id: string,
    patch: { status: WriteStatus; checks?: Check[]; confirmedAt?: number; confirmedBy?: string; readBack?: number | null; result?: Record<string, unknown>; clearToken?: boolean },
    at: number,
    fromStatus?: WriteStatus,
  ): Promise<boolean> {
    const set: Record<string, unknown> = { status: patch.status, updated_at: at };
    if (patch.checks) set['checks'] = JSON.stringify(patch.checks);
    if (patch.confirmedAt !== undefined) set['confirmed_at'] = patch.confirmedAt;
    if (patch.confirmedBy !== undefined) set['confirmed_by'] = patch.confirmedBy;
    if (patch.readBack !== undefined) set['read_back'] = patch.readBack;
    if (patch.result) set['result'] = JSON.stringify(patch.result);
    if (patch.clearToken) set['token_hash'] = null;
    let qb = this.db.updateTable('control_writes').set(set).where('id', '=', id);
    if (fromStatus) qb = qb.where('status', '=', fromStatus);
    const r = await qb.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async write(id: string): Promise<{ record: WriteRecord; tokenHash: string | null } | undefined> {
    const r = await this.db.selectFrom('control_writes').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? { record: writeFromRow(r), tokenHash: r.token_hash } : undefined;
  }

  async writes(q: { asset?: string; status?: WriteStatus; from?: number; to?: number; limit: number }): Promise<WriteRecord[]> {
    let qb = this.db.selectFrom('control_writes').selectAll();
    if (q.asset) qb = qb.where('asset', '=', q.asset);
    if (q.status) qb = qb.where('status', '=', q.status);
    if (q.from !== undefined) qb = qb.where('requested_at', '>=', q.from);
    if (q.to !== undefined) qb = qb.where('requested_at', '<', q.to);
    const rows = await qb.orderBy('requested_at', 'desc').limit(q.limit).execute();
    return rows.map(writeFromRow);
  }

  /** Writes executed on a point since a time: the changes that count against the rate limit. */
  async executedSince(asset: string, point: string, since: number): Promise<WriteRecord[]> {
    const rows = await this.db
      .selectFrom('control_writes')
      .selectAll()
      .where('asset', '=', asset)
      .where('point', '=', point)
      .where('status', '=', 'executed')
      .where('updated_at', '>=', since)
      .orderBy('updated_at', 'desc')
      .execute();
    return rows.map(writeFromRow);
  }

  async pendingExpired(now: number): Promise<WriteRecord[]> {
    const rows = await this.db.selectFrom('control_writes').selectAll().where('status', '=', 'pending').where('expires_at', '<', now).execute();
    return rows.map(writeFromRow);
  }
}

type AdviceRow = { id: string; asset: string; ts: number; point: string; valid: number; recommended: number | null; current_setpoint: number | null; explanation: string };

function adviceFromRow(r: AdviceRow): AdviceRecord {
  const e = JSON.parse(r.explanation) as AdviceExplanation & { measuredSupplyC?: number | null; changeK?: number | null };
  const { measuredSupplyC, changeK, ...explanation } = e;
  return {
    id: r.id,
    asset: r.asset,
    ts: Number(r.ts),
    point: r.point,
    valid: r.valid === 1,
    recommendedC: r.recommended === null ? null : Number(r.recommended),
    currentSetpointC: r.current_setpoint === null ? null : Number(r.current_setpoint),
    measuredSupplyC: measuredSupplyC ?? null,
    changeK: changeK ?? null,
    explanation,
  };
}

type WriteRow = {
  id: string;
  asset: string;
  point: string;
  mode: string;
  status: string;
  requested_at: number;
  requested_by: string;
  requested_by_name: string;
  old_value: number | null;
  new_value: number;
  advice_id: string | null;
  reason: string;
  checks: string;
  expires_at: number | null;
  confirmed_at: number | null;
  confirmed_by: string | null;
  read_back: number | null;
  result: string;
  updated_at: number;
};

function writeFromRow(r: WriteRow): WriteRecord {
  const num = (x: number | null): number | null => (x === null ? null : Number(x));
  return {
    id: r.id,
    asset: r.asset,
    point: r.point,
    mode: r.mode === 'auto' ? 'auto' : 'manual',
    status: r.status as WriteStatus,
    requestedAt: Number(r.requested_at),
    requestedBy: { id: r.requested_by, name: r.requested_by_name },
    oldValue: num(r.old_value),
    newValue: Number(r.new_value),
    adviceId: r.advice_id,
    reason: r.reason,
    checks: JSON.parse(r.checks) as Check[],
    expiresAt: num(r.expires_at),
    confirmedAt: num(r.confirmed_at),
    confirmedBy: r.confirmed_by,
    readBack: num(r.read_back),
    result: JSON.parse(r.result) as Record<string, unknown>,
    updatedAt: Number(r.updated_at),
  };
}
