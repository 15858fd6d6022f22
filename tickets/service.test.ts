import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmView } from '../alarms/engine.ts';
import type { Rule } from '../alarms/rules.ts';
import { AssetTree } from '../config/asset-tree.ts';
import { checkAgainst } from '../config/load.ts';
import { NetworkFile } from '../config/schema.ts';
import { ManualClock, systemClock, type Clock } from '../core/clock.ts';
import { silentLogger } from '../core/log.ts';
import { openStateDb, type StateDbHandle } from '../state/db.ts';
import { TicketsFile } from './config.ts';
import { canMove, overdue, slaDue, TeamDirectory } from './lifecycle.ts';
import { TicketService } from './service.ts';
import { Webhooks, sign, verifySignature } from './webhooks.ts';

const net = checkAgainst(
  NetworkFile,
  {
    company: { id: 'co', name: 'Co' },
    climate: { city: 'Jinan', designOutdoorC: -5.3 },
    heatSources: [
      {
        id: 'hs1',
        name: 'Plant',
        networks: [
          {
            id: 'n1',
            name: 'Net',
            substations: [
              { id: 's1', name: 'S1', buildings: [{ id: 's1-b1', name: 'B1', floors: 2, unitsPerFloor: 2 }] },
              { id: 's2', name: 'S2', buildings: [{ id: 's2-b1', name: 'B1', floors: 2, unitsPerFloor: 2 }] },
            ],
          },
        ],
      },
    ],
  },
  'network',
  [],
)!;
const assets = new AssetTree(net);

const dirs: string[] = [];
const handles: StateDbHandle[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const h of handles.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A state database in a temp directory; PostgreSQL takes over when DATABASE_URL is set (CI sets it when a server is
 * available), one schema per test directory. `keep` leaves the data for a reopen (a restart); the last handle drops it.
 */
async function open(dir?: string, keep = false): Promise<{ state: StateDbHandle; dir: string }> {
  const d = dir ?? mkdtempSync(path.join(os.tmpdir(), 'warmgrid-tickets-'));
  if (!dir) dirs.push(d);
  const url = process.env['DATABASE_URL'];
  const state = await openStateDb({ dataDir: d, url, ...(url ? { pgSchema: `t_tk_${path.basename(d).replace(/[^a-z0-9]/gi, '').toLowerCase()}`, dropSchemaOnClose: !keep } : {}) });
  handles.push(state);
  return { state, dir: d };
}

function config(extra: Record<string, unknown> = {}, secrets: Record<string, string> = {}) {
  const c = checkAgainst(TicketsFile, { teams: [{ id: 'east', name: 'East crew', areas: ['s1'] }, { id: 'desk', name: 'Desk', areas: ['co'] }], ...extra }, 'tickets.yaml', [])!;
  return { ...c, secrets };
}

function service(state: StateDbHandle, clock: Clock = new ManualClock(), cfg = config(), rules: Record<string, Rule> = {}) {
  const webhooks = new Webhooks({ db: state.db, config: cfg, clock, log: silentLogger() });
  const published: { type: string; change: string }[] = [];
  const svc = new TicketService({ db: state.db, assets, config: cfg, clock, log: silentLogger(), webhooks, ruleOf: (id) => rules[id], publish: (e) => published.push({ type: e.type, change: e.change }) });
  return { svc, webhooks, published };
}

let seq = 0;
function alarm(over: Partial<AlarmView> = {}): AlarmView {
  seq++;
  return {
    id: `al-${seq}`,
    ruleId: 'ss-leak-makeup',
    asset: 's1',
    assetName: 'S1',
    assetKind: 'substation',
    name: 'Leak: make-up flow above normal',
    category: 'leak',
    cause: 'leak',
    priority: 'high',
    level: null,
    state: 'unack',
    value: 0.98,
    activatedAt: 0,
    ackedAt: null,
    ackedBy: null,
    clearedAt: null,
    closedAt: null,
    updatedAt: 0,
    shelvedUntil: null,
    suppressedBy: null,
    outOfService: false,
    activations: 1,
    ...over,
  };
}

describe('one ticket per incident', () => {
  it('deduplicates concurrent raises for the same asset and cause into one ticket, with every alarm linked', async () => {
    const { state } = await open();
    const { svc } = service(state);
    const alarms = Array.from({ length: 25 }, () => alarm());
    const results = await Promise.all(alarms.map((a) => svc.raiseFromAlarm(a, undefined)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.ticket.id)).size).toBe(1);
    expect(await svc.openFor('s1', 'leak')).toHaveLength(1);
    const detail = await svc.get(results[0]!.ticket.id);
    expect(detail!.alarms).toHaveLength(25);
    // Another cause, or the same cause elsewhere, is another incident.
    expect((await svc.raiseFromAlarm(alarm({ cause: 'pump-failure' }), undefined)).created).toBe(true);
    expect((await svc.raiseFromAlarm(alarm({ asset: 's2', assetName: 'S2' }), undefined)).created).toBe(true);
  });

  it('also across a restart: reopening the database and a second service still find the open ticket', async () => {
    const first = await open(undefined, true);
    const a = service(first.state);
    const t1 = await a.svc.raiseFromAlarm(alarm(), undefined);
    handles.splice(handles.indexOf(first.state), 1);
    await first.state.close();

    const again = await open(first.dir);
    const b = service(again.state);
    const t2 = await b.svc.raiseFromAlarm(alarm(), undefined);
    expect(t2.created).toBe(false);
    expect(t2.ticket.id).toBe(t1.ticket.id);
    // Two services on one database racing (two hub processes on one PostgreSQL): still one.
    const c = service(again.state);
    const raced = await Promise.all([b.svc.raiseFromAlarm(alarm({ cause: 'x' }), undefined), c.svc.raiseFromAlarm(alarm({ cause: 'x' }), undefined)]);
    expect(raced.filter((r) => r.created)).toHaveLength(1);
  });

  it('the database itself refuses a second open ticket for an incident', async () => {
    const { state } = await open();
    const { svc } = service(state);
    const t = await svc.raiseFromAlarm(alarm(), undefined);
    const row = await state.db.selectFrom('tickets').selectAll().where('id', '=', t.ticket.id).executeTakeFirstOrThrow();
    const { id: _id, ...copy } = row;
    await expect(state.db.insertInto('tickets').values(copy).execute()).rejects.toThrow();
    // Once it is closed, the incident may get a new ticket.
    const clock = new ManualClock();
    const s2 = service(state, clock).svc;
    await s2.transition(t.ticket.id, 'in_progress', { id: 'u', name: 'u' });
    await s2.transition(t.ticket.id, 'resolved', { id: 'u', name: 'u' });
    await s2.transition(t.ticket.id, 'closed', { id: 'u', name: 'u' });
    expect((await s2.raiseFromAlarm(alarm(), undefined)).created).toBe(true);
  });
});

describe('lifecycle, SLA, teams', () => {
  it('is assigned to the team covering the asset, with SLA due times from its priority', async () => {
    const { state } = await open();
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 8));
    const { svc, published } = service(state, clock);
    const { ticket } = await svc.raiseFromAlarm(alarm({ priority: 'critical' }), undefined);
    expect(ticket).toMatchObject({ state: 'assigned', team: 'east', teamName: 'East crew', category: 'leak', priority: 'critical', origin: 'alarm' });
    expect(ticket.respondDueAt - ticket.createdAt).toBe(30 * 60_000);
    expect(ticket.resolveDueAt - ticket.createdAt).toBe(4 * 3_600_000);
    const other = await svc.raiseFromAlarm(alarm({ asset: 's2', assetName: 'S2' }), undefined);
    expect(other.ticket.team).toBe('desk');
    expect(published.map((p) => p.type)).toEqual(['ticket.created', 'ticket.created']);

    clock.advance(31 * 60_000);
    expect((await svc.get(ticket.id))!.ticket.overdue).toEqual({ respond: true, resolve: false });
    const by = { id: 'u1', name: 'Li Wei' };
    await expect(svc.transition(ticket.id, 'closed', by)).rejects.toThrow(/cannot go from assigned to closed/);
    await svc.transition(ticket.id, 'in_progress', by, 'on my way');
    await expect(svc.callback(ticket.id, 'satisfied', by)).rejects.toThrow(/resolved or closed/);
    await svc.transition(ticket.id, 'resolved', by, 'valve replaced');
    await svc.callback(ticket.id, 'satisfied', { id: 'u2', name: 'Desk' }, 'resident happy');
    await svc.transition(ticket.id, 'closed', by);
    await expect(svc.transition(other.ticket.id, 'cancelled', by)).rejects.toThrow(/say why/);
    const d = (await svc.get(ticket.id))!;
    expect(d.ticket).toMatchObject({ state: 'closed', callback: { result: 'satisfied', by: 'Desk', comment: 'resident happy' } });
    expect(d.ticket.respondedAt).toBe(clock.now());
    expect(d.history.map((h) => `${h.action}:${h.fromState}>${h.toState}:${h.actorName}`)).toEqual([
      'created:>new:system',
      'assigned:new>assigned:system',
      'state:assigned>in_progress:Li Wei',
      'state:in_progress>resolved:Li Wei',
      'callback:resolved>resolved:Desk',
      'state:resolved>closed:Li Wei',
    ]);
    expect(d.history[2]!.comment).toBe('on my way');
  });

  it('notes the alarm\'s return on the ticket and resolves it when the policy says so', async () => {
    const { state } = await open();
    const resolves: Rule = { ticket: { resolveOnReturn: true } } as Rule;
    const { svc } = service(state, new ManualClock(), config(), { 'comm-rule': resolves });
    const a = alarm({ ruleId: 'comm-rule', cause: 'comm', category: 'comm_loss' });
    const b = alarm({ ruleId: 'comm-rule', cause: 'comm', category: 'comm_loss' });
    const { ticket } = await svc.raiseFromAlarm(a, resolves);
    await svc.raiseFromAlarm(b, resolves);
    await svc.noteAlarmCleared(a);
    expect((await svc.get(ticket.id))!.ticket.state).toBe('assigned');
    await svc.noteAlarmCleared(b);
    const d = (await svc.get(ticket.id))!;
    expect(d.ticket.state).toBe('resolved');
    expect(d.history.filter((h) => h.action === 'alarm_cleared')).toHaveLength(2);
    // The fault comes back before the ticket is closed: the same ticket reopens.
    const again = await svc.raiseFromAlarm(alarm({ ruleId: 'comm-rule', cause: 'comm', category: 'comm_loss' }), resolves);
    expect(again.created).toBe(false);
    expect(again.ticket).toMatchObject({ id: ticket.id, state: 'assigned', reopened: 1 });

    // High priority without an override: the return is noted, the crew resolves it.
    const leak = await svc.raiseFromAlarm(alarm({ asset: 's2', assetName: 'S2' }), undefined);
    await svc.noteAlarmCleared(alarm({ id: (await svc.get(leak.ticket.id))!.alarms[0]!.alarmId }));
    expect((await svc.get(leak.ticket.id))!.ticket.state).toBe('assigned');
  });

  it('transitions, SLA and teams as pure functions', () => {
    expect(canMove('new', 'assigned')).toBe(true);
    expect(canMove('resolved', 'in_progress')).toBe(true);
    expect(canMove('closed', 'in_progress')).toBe(false);
    expect(canMove('cancelled', 'new')).toBe(false);
    const sla = config().sla;
    expect(slaDue(sla, 'low', 0)).toEqual({ respondDueAt: 1440 * 60_000, resolveDueAt: 72 * 3_600_000 });
    expect(overdue({ state: 'resolved', respondDueAt: 0, resolveDueAt: 0, respondedAt: null, resolvedAt: 1 }, 10)).toEqual({ respond: false, resolve: false });
    const teams = new TeamDirectory(assets, config().teams);
    expect(teams.teamFor('s1-b1-0101')?.id).toBe('east');
    expect(teams.teamFor('s2-b1-0101')?.id).toBe('desk');
  });
});

describe('webhooks', () => {
  const SECRET = 'a-test-secret-of-32-characters!!';
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('signs the body; verifySignature accepts it and nothing else', () => {
    const body = '{"id":"e1"}';
    expect(verifySignature(SECRET, body, `sha256=${sign(SECRET, body)}`)).toBe(true);
    expect(verifySignature(SECRET, `${body} `, `sha256=${sign(SECRET, body)}`)).toBe(false);
    expect(verifySignature('another-secret-of-some-length', body, `sha256=${sign(SECRET, body)}`)).toBe(false);
    expect(verifySignature(SECRET, body, undefined)).toBe(false);
  });

  it('a receiver that is down gets every event afterwards, in order, each id accepted once', async () => {
    let up = false;
    const accepted: string[] = [];
    const refused: string[] = [];
    const bad: string[] = [];
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const id = String(req.headers['x-warmgrid-event-id']);
        if (!verifySignature(SECRET, body, req.headers['x-warmgrid-signature'] as string) || req.headers['idempotency-key'] !== id || (JSON.parse(body) as { id: string }).id !== id) bad.push(id);
        if (!up) {
          refused.push(id);
          res.writeHead(503).end();
          return;
        }
        if (!accepted.includes(id)) accepted.push(id);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const { state } = await open();
    const cfg = config({ webhooks: { endpoints: [{ id: 'desk', url: `http://127.0.0.1:${port}/hook`, secretEnv: 'X' }], retryBaseMs: 20, retryMaxMs: 200 } }, { desk: SECRET });
    const { svc, webhooks } = service(state, systemClock, cfg);
    closers.push(() => webhooks.stop());
    webhooks.start();
    for (let i = 0; i < 5; i++) await svc.raiseFromAlarm(alarm({ cause: `c${i}` }), undefined);
    await until(() => refused.length >= 2);
    up = true;
    await until(async () => (await webhooks.status())[0]!.pending === 0);
    const rows = await state.db.selectFrom('webhook_outbox').select(['event_id', 'delivered_at']).orderBy('seq').execute();
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.delivered_at !== null)).toBe(true);
    expect(accepted).toEqual(rows.map((r) => r.event_id));
    expect(bad).toEqual([]);
    const status = (await webhooks.status())[0]!;
    expect(status).toMatchObject({ id: 'desk', pending: 0, delivered: 5, secretSet: true });
  });
});

async function until(ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}
