/**
 * The alarm and ticket API on a real hub: readings over HTTP raise alarms; operators acknowledge, shelve and take points
 * out of service; engineers change rules (audited); the service desk works tickets; KPIs and CSV; the live bus and
 * signed webhooks carry every change; a restart keeps open alarms and tickets without duplicates. A ManualClock drives
 * delays and shelving.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONFIG_DIR } from '../config/load.ts';
import { ManualClock } from '../core/clock.ts';
import type { HubEvent } from '../ingest/live-bus.ts';
import { verifySignature } from '../tickets/webhooks.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';

const SECRET = 'webhook-secret-for-the-test-0123456789';
const T0 = Date.UTC(2026, 0, 15, 8);
const S = 1000;
const MIN = 60 * S;

let t: TestHub;
let clock: ManualClock;
let receiver: Server;
let receiverUp = false;
const accepted = new Map<string, { type: string; body: Record<string, unknown> }>();
let refused = 0;
let badSignatures = 0;
const events: HubEvent[] = [];

/** The demo rules without staleness: readings here come one by one, when a test sends them, not every second. */
function demoRulesWithoutStaleness(): string {
  const doc = parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'alarms.yaml'), 'utf8')) as { rules: { kind: string }[] };
  return stringify({ ...doc, rules: doc.rules.filter((r) => r.kind !== 'stale') });
}

function hubFiles(port: number): Record<string, string> {
  const tickets = `
teams:
  - { id: crew-east, name: East crew, areas: [ss01, ss02, ss03, ss04] }
  - { id: dispatch, name: Dispatch, areas: [demo] }
webhooks:
  retryBaseMs: 1000
  retryMaxMs: 5000
  endpoints:
    - { id: desk, url: "http://127.0.0.1:${port}/hook", secretEnv: WG_DESK_SECRET, events: ["ticket.*", "alarm.activated"] }
`;
  return { 'tickets.yaml': tickets, 'alarms.yaml': demoRulesWithoutStaleness() };
}

async function start(dataDir?: string): Promise<TestHub> {
  const port = (receiver.address() as AddressInfo).port;
  const hub = await startTestHub({
    clock,
    env: { WG_DESK_SECRET: SECRET },
    files: hubFiles(port),
    hubYaml: 'store: { batchSize: 1 }\nauth: { sessionHours: 720 }\n',
    ...(dataDir ? { dataDir } : {}),
  });
  hub.hub.services.bus.onEvent((e) => events.push(e));
  return hub;
}

async function push(asset: string, fields: Record<string, number | boolean>): Promise<void> {
  const res = await t.as('engineer', { method: 'POST', url: '/api/readings', payload: { readings: [{ asset, ts: clock.now(), fields }] } });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().accepted).toBe(1);
}

async function advance(ms: number): Promise<void> {
  clock.advance(ms);
  await t.hub.services.tickets.service.idle();
  await t.hub.services.alarms.store.flush();
}

async function openAlarms(query = ''): Promise<{ id: string; ruleId: string; asset: string; state: string; shelvedUntil: number | null }[]> {
  const res = await t.as('display', { method: 'GET', url: `/api/alarms?${query}` });
  expect(res.statusCode).toBe(200);
  return res.json().alarms;
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      if (!verifySignature(SECRET, body, req.headers['x-warmgrid-signature'] as string | undefined)) badSignatures++;
      if (!receiverUp) {
        refused++;
        res.writeHead(503).end();
        return;
      }
      const id = String(req.headers['idempotency-key']);
      if (!accepted.has(id)) accepted.set(id, { type: String(req.headers['x-warmgrid-event']), body: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  clock = new ManualClock(T0);
  t = await start();
});

afterAll(async () => {
  await t?.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

describe('alarm lifecycle through the API', () => {
  let pumpAlarm: string;
  let ticketId: number;

  it('a reading raises an alarm after its on-delay, with one ticket for the crew covering the area', async () => {
    await push('ss01', { vfd_fault: true, circ_pump_running: false });
    await advance(4 * S);
    expect(await openAlarms()).toEqual([]);
    await advance(2 * S);
    const list = await openAlarms();
    expect(list.map((a) => `${a.ruleId}@${a.asset}:${a.state}`)).toEqual(['ss-pump-trip@ss01:unack']);
    pumpAlarm = list[0]!.id;
    // ss-pump-stopped would follow after 30 s, but the trip explains it: suppressed, so still one alarm.
    await advance(40 * S);
    expect((await openAlarms()).map((a) => a.ruleId)).toEqual(['ss-pump-trip']);
    const tickets = (await t.as('display', { method: 'GET', url: '/api/tickets?asset=ss01' })).json().tickets;
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ category: 'equipment', priority: 'critical', state: 'assigned', team: 'crew-east', cause: 'pump-failure' });
    ticketId = tickets[0].id;
    expect(events.some((e) => e.topic === 'alarms' && (e.data as { type: string }).type === 'alarm.activated')).toBe(true);
    expect(events.some((e) => e.topic === 'tickets' && (e.data as { type: string }).type === 'ticket.created')).toBe(true);
  });

  it('operators acknowledge; others may not', async () => {
    expect((await t.as('display', { method: 'POST', url: `/api/alarms/${pumpAlarm}/ack`, payload: {} })).statusCode).toBe(403);
    expect((await t.as('service', { method: 'POST', url: `/api/alarms/${pumpAlarm}/ack`, payload: {} })).statusCode).toBe(403);
    const res = await t.as('operator', { method: 'POST', url: `/api/alarms/${pumpAlarm}/ack`, payload: { comment: 'crew informed' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().alarm).toMatchObject({ state: 'ack', ackedBy: 'test-operator' });
    expect((await t.as('operator', { method: 'POST', url: `/api/alarms/${pumpAlarm}/ack`, payload: {} })).json().error.code).toBe('CONFLICT');
  });

  it('returns to normal when the fault clears, every transition stored with who and when, and notes the ticket', async () => {
    await push('ss01', { vfd_fault: false, circ_pump_running: true });
    await advance(61 * S);
    expect(await openAlarms()).toEqual([]);
    const detail = (await t.as('display', { method: 'GET', url: `/api/alarms/${pumpAlarm}` })).json();
    expect(detail.alarm.state).toBe('normal');
    expect(detail.events.map((e: { event: string; actorName: string; toState: string }) => `${e.event}:${e.toState}:${e.actorName}`)).toEqual([
      'activate:unack:system',
      'ack:ack:test-operator',
      'clear:normal:system',
    ]);
    expect(detail.events[1].comment).toBe('crew informed');
    expect(detail.events[0].ts).toBe(T0 + 5 * S);
    const ticket = (await t.as('service', { method: 'GET', url: `/api/tickets/${ticketId}` })).json();
    expect(ticket.history.map((h: { action: string }) => h.action)).toEqual(['created', 'assigned', 'alarm_cleared']);
    expect(ticket.ticket.state).toBe('assigned');
    expect(ticket.alarms[0]).toMatchObject({ alarmId: pumpAlarm });
    expect(ticket.alarms[0].clearedAt).not.toBeNull();
  });

  it('the service desk works the ticket to closed, with comments and the call-back', async () => {
    const url = `/api/tickets/${ticketId}`;
    expect((await t.as('operator', { method: 'POST', url: `${url}/state`, payload: { state: 'in_progress' } })).statusCode).toBe(403);
    expect((await t.as('service', { method: 'POST', url: `${url}/assign`, payload: { assignee: 'Wang Fang', comment: 'nearest' } })).json().ticket.assignee).toBe('Wang Fang');
    expect((await t.as('service', { method: 'POST', url: `${url}/state`, payload: { state: 'in_progress', comment: 'on site' } })).json().ticket.state).toBe('in_progress');
    expect((await t.as('service', { method: 'POST', url: `${url}/comments`, payload: { comment: 'VFD reset, bearing noisy' } })).statusCode).toBe(200);
    expect((await t.as('service', { method: 'POST', url: `${url}/state`, payload: { state: 'closed' } })).json().error.code).toBe('CONFLICT');
    expect((await t.as('service', { method: 'POST', url: `${url}/state`, payload: { state: 'resolved', comment: 'pump replaced' } })).json().allowedMoves).toEqual(['in_progress', 'assigned', 'closed']);
    const cb = await t.as('service', { method: 'POST', url: `${url}/callback`, payload: { result: 'satisfied', comment: 'warm again' } });
    expect(cb.json().ticket.callback).toMatchObject({ result: 'satisfied', by: 'test-service' });
    const closed = (await t.as('admin', { method: 'POST', url: `${url}/state`, payload: { state: 'closed' } })).json();
    expect(closed.ticket.state).toBe('closed');
    expect(closed.history.map((h: { action: string; actorName: string }) => `${h.action}:${h.actorName}`).slice(3)).toEqual([
      'assigned:test-service',
      'state:test-service',
      'comment:test-service',
      'state:test-service',
      'callback:test-service',
      'state:test-admin',
    ]);
  });

  it('a resident\'s call becomes a manual ticket; with the same cause it joins the open one', async () => {
    const created = await t.as('service', { method: 'POST', url: '/api/tickets', payload: { asset: 'ss02-b1-0301', category: 'no_heat', priority: 'medium', title: 'Radiators cold (hotline)', cause: 'cold-flat' } });
    expect(created.statusCode).toBe(201);
    expect(created.json().ticket).toMatchObject({ origin: 'manual', team: 'crew-east', state: 'assigned' });
    const again = await t.as('service', { method: 'POST', url: '/api/tickets', payload: { asset: 'ss02-b1-0301', category: 'no_heat', priority: 'medium', title: 'Called again', cause: 'cold-flat' } });
    expect(again.statusCode).toBe(200);
    expect(again.json().ticket.id).toBe(created.json().ticket.id);
    expect((await t.as('service', { method: 'POST', url: '/api/tickets', payload: { asset: 'nowhere', category: 'no_heat', priority: 'low', title: 'x' } })).statusCode).toBe(400);
    const list = (await t.as('display', { method: 'GET', url: '/api/tickets?state=open&under=ss02' })).json();
    expect(list.tickets.map((x: { id: number }) => x.id)).toEqual([created.json().ticket.id]);
  });
});

describe('shelving, out of service, rules', () => {
  it('shelving hides an alarm for a while; when it ends, a condition that still holds is shown again', async () => {
    await push('ss02', { tank_level_m: 0.3 });
    await advance(61 * S);
    const [tank] = await openAlarms('asset=ss02');
    expect(tank).toMatchObject({ ruleId: 'ss-tank-low', state: 'unack' });
    expect((await t.as('operator', { method: 'POST', url: `/api/alarms/${tank!.id}/shelve`, payload: { reason: 'refill truck on its way' } })).statusCode).toBe(400);
    const shelved = await t.as('operator', { method: 'POST', url: `/api/alarms/${tank!.id}/shelve`, payload: { reason: 'refill truck on its way', minutes: 30 } });
    expect(shelved.json().alarm.shelvedUntil).toBe(clock.now() + 30 * MIN);
    expect(await openAlarms('asset=ss02')).toEqual([]);
    expect((await openAlarms('asset=ss02&hidden=true')).map((a) => a.id)).toEqual([tank!.id]);
    expect((await t.as('display', { method: 'GET', url: '/api/alarms/modes' })).json().points).toMatchObject([{ ruleId: 'ss-tank-low', asset: 'ss02', mode: 'shelved', by: 'test-operator', reason: 'refill truck on its way' }]);
    // It clears and comes back while shelved: nothing is shown.
    await push('ss02', { tank_level_m: 1.5 });
    await advance(301 * S);
    await push('ss02', { tank_level_m: 0.3 });
    await advance(61 * S);
    expect(await openAlarms('asset=ss02')).toEqual([]);
    // The shelving runs out: the condition still holds, so it is shown again, as a new alarm.
    await advance(30 * MIN);
    const back = await openAlarms('asset=ss02');
    expect(back.map((a) => `${a.ruleId}:${a.state}`)).toEqual(['ss-tank-low:unack']);
    expect(back[0]!.id).not.toBe(tank!.id);
    const first = (await t.as('display', { method: 'GET', url: `/api/alarms/${tank!.id}` })).json();
    expect(first.events.map((e: { event: string }) => e.event)).toEqual(['activate', 'shelve', 'clear']);
    const audit = (await t.as('admin', { method: 'GET', url: '/api/audit?action=alarm.*' })).json().entries;
    expect(audit[0]).toMatchObject({ action: 'alarm.shelve', actorName: 'test-operator', target: tank!.id });
  });

  it('out of service closes the alarm and raises nothing until returned to service', async () => {
    const [tank] = await openAlarms('asset=ss02');
    const oos = await t.as('operator', { method: 'POST', url: `/api/alarms/${tank!.id}/out-of-service`, payload: { reason: 'level sensor replaced' } });
    expect(oos.json().alarm).toMatchObject({ outOfService: true, state: 'normal' });
    await push('ss02', { tank_level_m: 1.5 });
    await advance(301 * S);
    await push('ss02', { tank_level_m: 0.2 });
    await advance(120 * S);
    expect(await openAlarms('asset=ss02&hidden=true')).toEqual([]);
    const rts = await t.as('engineer', { method: 'POST', url: `/api/alarms/${tank!.id}/return-to-service`, payload: { comment: 'sensor checked' } });
    expect(rts.statusCode).toBe(200);
    expect((await openAlarms('asset=ss02')).map((a) => `${a.ruleId}:${a.state}`)).toEqual(['ss-tank-low:unack']);
  });

  it('engineers change rules at runtime, validated like alarms.yaml and audited; changes apply at once', async () => {
    const rule = { id: 'ss03-t2s-hot', kind: 'threshold', name: 'ss03 supply hot', assetKind: 'substation', where: { assets: ['ss03'] }, category: 'equipment', priority: 'low', field: 'secondary_supply_temp_c', h: 80, deadband: 1 };
    expect((await t.as('operator', { method: 'POST', url: '/api/alarms/rules', payload: rule })).statusCode).toBe(403);
    const bad = await t.as('engineer', { method: 'POST', url: '/api/alarms/rules', payload: { ...rule, h: 80, hh: 70, where: { assets: ['ss99'] } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['/h', '/where/assets/0']));
    const created = await t.as('engineer', { method: 'POST', url: '/api/alarms/rules', payload: rule });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ origin: 'api', edited: true, version: 1, updatedBy: expect.any(String) });
    await push('ss03', { secondary_supply_temp_c: 82 });
    await advance(S);
    expect((await openAlarms('asset=ss03')).map((a) => a.ruleId)).toEqual(['ss03-t2s-hot']);
    expect((await t.as('engineer', { method: 'PUT', url: '/api/alarms/rules/ss03-t2s-hot?version=7', payload: { ...rule, h: 85 } })).json().error.code).toBe('CONFLICT');
    const updated = await t.as('engineer', { method: 'PUT', url: '/api/alarms/rules/ss03-t2s-hot?version=1', payload: { ...rule, h: 85 } });
    expect(updated.json().version).toBe(2);
    // Still open until judged again under the new limit.
    await push('ss03', { secondary_supply_temp_c: 82.5 });
    await advance(S);
    expect((await openAlarms('asset=ss03')).map((a) => a.state)).toEqual(['rtn_unack']);
    expect((await t.as('engineer', { method: 'DELETE', url: '/api/alarms/rules/ss03-t2s-hot' })).statusCode).toBe(200);
    expect((await t.as('display', { method: 'GET', url: '/api/alarms/rules/ss03-t2s-hot' })).statusCode).toBe(404);
    expect(await openAlarms('asset=ss03')).toEqual([]);
    const audit = (await t.as('admin', { method: 'GET', url: '/api/audit?action=alarm_rule.*' })).json().entries;
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['alarm_rule.delete', 'alarm_rule.update', 'alarm_rule.create']);
    expect(audit[1].detail).toMatchObject({ before: { h: 80 }, after: { h: 85 } });
    const templates = (await t.as('display', { method: 'GET', url: '/api/alarms/templates' })).json().templates;
    expect(templates.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining(['leak', 'pump-failure', 'stuck-valve', 'sensor-fault', 'comm-loss', 'heat-theft', 'cold-flat', 'overheating', 'low-dt', 'heat-meter-fault']));
  });
});

describe('history, KPIs, export', () => {
  it('searches the history, pages it, and exports it as CSV', async () => {
    const all = (await t.as('display', { method: 'GET', url: '/api/alarms?status=all&limit=2' })).json();
    expect(all.alarms).toHaveLength(2);
    const next = (await t.as('display', { method: 'GET', url: `/api/alarms?status=all&limit=100&before=${encodeURIComponent(all.next)}` })).json();
    expect(next.alarms.map((a: { id: string }) => a.id)).not.toContain(all.alarms[0].id);
    const found = (await t.as('display', { method: 'GET', url: '/api/alarms?status=closed&q=pump' })).json().alarms;
    expect(found.map((a: { ruleId: string }) => a.ruleId)).toEqual(['ss-pump-trip']);
    const csv = await t.as('display', { method: 'GET', url: '/api/alarms/export?under=ss02' });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,activated_at,asset,asset_name,rule_id,name,priority/);
    expect(lines.slice(1).every((l) => l.includes(',ss02,'))).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(4);
  });

  it('reports the EEMUA KPIs', async () => {
    const k = (await t.as('display', { method: 'GET', url: `/api/alarms/kpis?from=${T0}&to=${clock.now()}` })).json();
    expect(k.activations).toBeGreaterThanOrEqual(4);
    expect(k.rate.per10MinPerOperator).toBeGreaterThan(0);
    expect(k.prioritySplit.critical + k.prioritySplit.high + k.prioritySplit.medium + k.prioritySplit.low).toBeCloseTo(1, 3);
    expect(k.topBadActors[0]).toMatchObject({ ruleId: expect.any(String), count: expect.any(Number) });
    expect(k.floods.episodes).toBe(0);
  });
});

describe('webhooks and restarts', () => {
  it('a receiver that was down gets every ticket event afterwards, signed, once per id', async () => {
    expect(refused).toBeGreaterThan(0);
    receiverUp = true;
    const w = t.hub.services.tickets.webhooks;
    for (let i = 0; i < 200 && (await w.status())[0]!.pending > 0; i++) {
      clock.advance(5 * S);
      await w.idle();
      await new Promise((r) => setTimeout(r, 5));
    }
    const status = (await w.status())[0]!;
    expect(status.pending).toBe(0);
    const rows = await t.hub.services.state.db.selectFrom('webhook_outbox').select(['event_id', 'type', 'delivered_at']).orderBy('seq').execute();
    expect(rows.length).toBe(status.delivered);
    expect([...accepted.keys()].sort()).toEqual(rows.map((r) => r.event_id).sort());
    expect(new Set(rows.map((r) => r.type))).toEqual(new Set(['ticket.created', 'ticket.updated', 'alarm.activated']));
    expect(badSignatures).toBe(0);
    const created = [...accepted.values()].find((e) => e.type === 'ticket.created')!;
    expect(created.body).toMatchObject({ type: 'ticket.created', data: { change: 'created', ticket: { asset: 'ss01' } } });
    const admin = await t.as('admin', { method: 'GET', url: '/api/webhooks' });
    expect(admin.json().endpoints[0]).toMatchObject({ id: 'desk', secretSet: true, pending: 0 });
    expect(JSON.stringify(admin.json())).not.toContain(SECRET);
    expect((await t.as('engineer', { method: 'GET', url: '/api/webhooks' })).statusCode).toBe(403);
  });

  it('after a restart, open alarms and tickets are still there, and nothing is raised twice', async () => {
    const before = await openAlarms();
    const ticketsBefore = (await t.as('display', { method: 'GET', url: '/api/tickets' })).json().tickets.length;
    expect(before.map((a) => a.ruleId)).toEqual(['ss-tank-low']);
    const dataDir = t.dataDir;
    await t.hub.stop();
    t = await start(dataDir);
    expect((await openAlarms()).map((a) => a.id)).toEqual(before.map((a) => a.id));
    // The condition holds on: the same alarm stays, no new ticket.
    await push('ss02', { tank_level_m: 0.2 });
    await advance(120 * S);
    expect((await openAlarms()).map((a) => a.id)).toEqual(before.map((a) => a.id));
    expect((await t.as('display', { method: 'GET', url: '/api/tickets' })).json().tickets).toHaveLength(ticketsBefore);
    await push('ss02', { tank_level_m: 1.5 });
    await advance(301 * S);
    expect((await openAlarms()).map((a) => a.state)).toEqual(['rtn_unack']);
  });
});
