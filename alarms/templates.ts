/**
 * Rule templates: one per fault of DOMAIN.md §4 (plus the heat source and the building-wide cold), each a set of rules
 * tuned on the simulator's physics (simulators/model) and documented in docs/alarms.md. Engineers start a rule from a
 * template (GET /api/alarms/templates) and adjust limits to their plant; config/demo/alarms.yaml ships them all, tagged
 * with `template`.
 *
 * Field names are the substation tags of DOMAIN.md §1 (simulators/model/substation-tags.ts), the heat source's
 * supply_temp_c / running, and the thermostats' room_temp_c.
 */
import { Value } from '@sinclair/typebox/value';
import { Rule } from './rules.ts';

export interface RuleTemplate {
  id: string;
  fault: string;
  signature: string;
  rules: Rule[];
}

/** A rule with the schema's defaults filled in; a template that does not fit the schema is a bug, caught at load. */
function r(x: Record<string, unknown>): Rule {
  const rule = Value.Default(Rule, structuredClone(x));
  if (!Value.Check(Rule, rule)) throw new Error(`rule template ${String(x['id'])}: ${[...Value.Errors(Rule, rule)].map((e) => `${e.path} ${e.message}`).join('; ')}`);
  return rule;
}

/** Everything that a substation's own outage explains: its flats and buildings go quiet or cool. */
const BELOW_SUBSTATION = ['apt-*', 'bldg-*'];
/**
 * What a loss of heat explains in the rooms while they cool and rewarm: cold buildings and flats, and suspended flats
 * that look warm beside neighbours that cooled faster.
 */
const ROOMS = ['bldg-*', 'apt-cold-flat', 'apt-heat-theft'];
/** What a heat-source trip or supply drop explains downstream. */
const AFTER_SUPPLY_LOSS = ['ss-primary-supply-low', 'ss-t2s-deviation', 'ss-low-dt', ...ROOMS];

export const RULE_TEMPLATES: readonly RuleTemplate[] = [
  {
    id: 'comm-loss',
    fault: 'comm loss',
    signature: 'stale timestamps; the source reports the device as not answering (bad quality)',
    rules: [
      r({
        id: 'ss-comm-loss', kind: 'stale', template: 'comm-loss', name: 'Substation not communicating', assetKind: 'substation',
        maxAgeS: 30, badQuality: true, onDelayS: 30, offDelayS: 30, priority: 'high', category: 'comm_loss',
        suppresses: [...BELOW_SUBSTATION, 'ss-sensor-*'], ticket: { resolveOnReturn: true },
        description: 'No reading from the substation PLC for 30 s (polled every second), or the source reports it as not answering.',
      }),
      r({
        id: 'apt-comm-loss', kind: 'stale', template: 'comm-loss', name: 'Thermostat not reporting', assetKind: 'apartment',
        maxAgeS: 900, badQuality: true, priority: 'low', category: 'comm_loss', ticket: { raise: true, resolveOnReturn: true },
        description: 'A room thermostat (reporting once a minute) has been silent for 15 minutes: battery or radio.',
      }),
      r({
        id: 'hs-comm-loss', kind: 'stale', template: 'comm-loss', name: 'Heat source not communicating', assetKind: 'heat_source',
        maxAgeS: 120, badQuality: true, onDelayS: 30, offDelayS: 30, priority: 'high', category: 'comm_loss', ticket: { resolveOnReturn: true },
      }),
    ],
  },
  {
    id: 'supply-drop',
    fault: 'heat source trip or supply drop',
    signature: 'the plant stops (running = false) or its supply temperature falls fast',
    rules: [
      r({
        id: 'hs-trip', kind: 'discrete', template: 'supply-drop', name: 'Heat source tripped', assetKind: 'heat_source',
        field: 'running', equals: false, onDelayS: 10, offDelayS: 60, suppressReleaseS: 21600, priority: 'critical', category: 'no_heat', cause: 'heat-source-supply',
        suppresses: ['hs-supply-drop', ...AFTER_SUPPLY_LOSS],
        description: 'One root alarm for the whole network: downstream low-supply and cold-room alarms are suppressed while it is active and for 6 h after: hot water takes up to 80 minutes to reach the far substations, the network is starved while every valve is open, and rooms take hours to rewarm.',
      }),
      r({
        id: 'hs-supply-drop', kind: 'rate', template: 'supply-drop', name: 'Heat source supply falling fast', assetKind: 'heat_source',
        field: 'supply_temp_c', windowS: 1200, fallPerH: 12, offDelayS: 3600, suppressReleaseS: 21600, priority: 'high', category: 'no_heat', cause: 'heat-source-supply',
        suppresses: AFTER_SUPPLY_LOSS,
        description: 'The weather curve moves the supply by a few K an hour at most; a fall faster than 12 K/h over 20 minutes is the plant. Held 1 h after the fall stops; what it suppresses stays suppressed 6 h more.',
      }),
      r({
        id: 'ss-primary-supply-low', kind: 'threshold', template: 'supply-drop', name: 'Primary supply low', assetKind: 'substation',
        field: 'primary_supply_temp_c', l: 55, ll: 45, deadband: 2, onDelayS: 300, offDelayS: 300, priority: 'high', category: 'no_heat',
        levelPriority: { ll: 'critical' },
      }),
    ],
  },
  {
    id: 'leak',
    fault: 'leak / burst',
    signature: 'make-up flow above its own learned baseline; the make-up tank drains',
    rules: [
      r({
        id: 'ss-leak-makeup', kind: 'baseline', template: 'leak', name: 'Leak: make-up flow above normal', assetKind: 'substation',
        field: 'makeup_flow_m3h', direction: 'above', factor: 3, margin: 0.1, learnHours: 6, warmupHours: 0.5, everyS: 30, maxAgeS: 300,
        onDelayS: 120, offDelayS: 600, priority: 'high', category: 'leak', cause: 'leak', suppresses: ['ss-pump-stopped', 'ss-tank-low'],
        description: 'Each substation learns its own make-up flow (normal leakage differs from one network to the next); three times that plus 0.1 m³/h is a leak.',
      }),
      r({
        id: 'ss-tank-low', kind: 'threshold', template: 'leak', name: 'Make-up tank low', assetKind: 'substation',
        field: 'tank_level_m', l: 0.5, ll: 0.2, deadband: 0.2, onDelayS: 60, offDelayS: 300, priority: 'high', category: 'leak', cause: 'leak',
        levelPriority: { ll: 'critical' },
      }),
    ],
  },
  {
    id: 'pump-failure',
    fault: 'pump failure',
    signature: 'VFD fault bit; the circulating pump stops, flow and ΔP collapse',
    rules: [
      r({
        id: 'ss-pump-trip', kind: 'discrete', template: 'pump-failure', name: 'Circulating pump tripped (VFD fault)', assetKind: 'substation',
        field: 'vfd_fault', equals: true, onDelayS: 5, offDelayS: 60, suppressReleaseS: 21600, priority: 'critical', category: 'equipment', cause: 'pump-failure',
        suppresses: ['ss-pump-stopped', 'ss-t2s-deviation', 'ss-low-dt', 'ss-meter-*', 'ss-stuck-valve', ...ROOMS],
      }),
      r({
        id: 'ss-pump-stopped', kind: 'discrete', template: 'pump-failure', name: 'Circulating pump stopped', assetKind: 'substation',
        field: 'circ_pump_running', equals: false, onDelayS: 30, offDelayS: 60, suppressReleaseS: 21600, priority: 'critical', category: 'equipment', cause: 'pump-failure',
        suppresses: ['ss-t2s-deviation', 'ss-low-dt', 'ss-meter-*', 'ss-stuck-valve', ...ROOMS],
      }),
    ],
  },
  {
    id: 'stuck-valve',
    fault: 'stuck valve',
    signature: 'position feedback stays while the command moves; the secondary supply misses its setpoint',
    rules: [
      r({
        id: 'ss-stuck-valve', kind: 'threshold', template: 'stuck-valve', name: 'Control valve not following its command', assetKind: 'substation',
        field: 'valve_cmd_pct', minus: 'valve_pos_pct', abs: true, h: 5, deadband: 2, onDelayS: 600, offDelayS: 300, priority: 'high',
        category: 'equipment', cause: 'stuck-valve', suppresses: ['ss-t2s-deviation'],
        description: 'The actuator strokes in 3 minutes: more than 5 % between command and feedback for 10 minutes is a stuck valve.',
      }),
      r({
        id: 'ss-t2s-deviation', kind: 'deviation', template: 'stuck-valve', name: 'Secondary supply off its setpoint', assetKind: 'substation',
        field: 'secondary_supply_temp_c', setpoint: 'supply_temp_setpoint_c', band: 5, deadband: 1, direction: 'both',
        when: { field: 'circ_pump_running', equals: true }, onDelayS: 900, offDelayS: 300, priority: 'medium', category: 'no_heat', cause: 'supply-temp-control',
      }),
    ],
  },
  {
    id: 'sensor-fault',
    fault: 'sensor fault',
    signature: 'pinned at a limit, zero variance, gaps, spikes',
    rules: [
      r({
        id: 'ss-sensor-t2s-missing', kind: 'stale', template: 'sensor-fault', name: 'Supply temperature sensor: no value', assetKind: 'substation',
        field: 'secondary_supply_temp_c', maxAgeS: 300, badQuality: false, priority: 'medium', category: 'equipment', cause: 'sensor-t2s',
        description: 'The substation answers but this value is missing (NaN, or 185.00 = open circuit, rejected as out of range) for 5 minutes.',
      }),
      r({
        id: 'ss-sensor-t2s-range', kind: 'threshold', template: 'sensor-fault', name: 'Supply temperature sensor: short circuit', assetKind: 'substation',
        field: 'secondary_supply_temp_c', ll: 0.5, deadband: 1, onDelayS: 60, priority: 'medium', category: 'equipment', cause: 'sensor-t2s',
        description: '0.00 °C is the short-circuit sentinel of heat-meter and PT1000 inputs (DOMAIN.md §1).',
      }),
      r({
        id: 'ss-sensor-t2s-flatline', kind: 'flatline', template: 'sensor-fault', name: 'Supply temperature sensor: stuck', assetKind: 'substation',
        field: 'secondary_supply_temp_c', windowS: 1800, maxStdDev: 0.001, minSamples: 10, offDelayS: 300, priority: 'medium', category: 'equipment', cause: 'sensor-t2s',
      }),
      r({
        id: 'ss-sensor-t2s-spike', kind: 'spike', template: 'sensor-fault', name: 'Supply temperature sensor: spikes', assetKind: 'substation',
        field: 'secondary_supply_temp_c', samples: 30, z: 6, minMad: 0.2, holdS: 3600, minCount: 2, priority: 'low', category: 'equipment', cause: 'sensor-t2s',
      }),
      r({
        id: 'ss-sensor-t2r-flatline', kind: 'flatline', template: 'sensor-fault', name: 'Return temperature sensor: stuck', assetKind: 'substation',
        field: 'secondary_return_temp_c', windowS: 1800, maxStdDev: 0.001, minSamples: 10, offDelayS: 300, priority: 'medium', category: 'equipment', cause: 'sensor-t2r',
      }),
    ],
  },
  {
    id: 'cold-flat',
    fault: 'cold flat (air lock, blocked radiator)',
    signature: 'one flat colder than it usually is beside its neighbours',
    rules: [
      r({
        id: 'apt-cold-flat', kind: 'neighbour', template: 'cold-flat', name: 'Flat colder than its neighbours predict', assetKind: 'apartment',
        where: { attrs: { account: 'active' } }, field: 'room_temp_c', group: 'building', peers: { attrs: { account: 'active' } },
        offset: 'learn', belowK: 1, learnHours: 24, warmupHours: 2, minPeers: 3, everyS: 300, maxAgeS: 1800,
        onDelayS: 5400, offDelayS: 1800, priority: 'medium', category: 'no_heat', cause: 'cold-flat',
        description: 'Each flat learns how far it usually sits from its building\'s other flats (position, sun, thermostat); 1 K colder than that for 90 minutes is a flat losing its heat (an open window, 10–30 minutes, is not).',
      }),
      r({
        id: 'bldg-cold-share', kind: 'share', template: 'cold-flat', name: 'Many flats below 18 °C', assetKind: 'building',
        member: { kind: 'apartment', attrs: { account: 'active' } }, field: 'room_temp_c', below: 18, minShare: 0.2, minMembers: 5, deadband: 0.1,
        everyS: 300, maxAgeS: 1800, onDelayS: 1800, offDelayS: 3600, priority: 'high', category: 'no_heat', cause: 'cold-building',
        suppresses: ['apt-cold-flat'],
        description: 'Refunds are owed below 18 °C (Shandong, Tianjin): a fifth of a building\'s flats below it is a building problem, not a flat problem.',
      }),
    ],
  },
  {
    id: 'heat-theft',
    fault: 'heat theft (私接, 盗暖)',
    signature: 'a suspended account (报停) much warmer than its neighbours predict',
    rules: [
      r({
        id: 'apt-heat-theft', kind: 'neighbour', template: 'heat-theft', name: 'Suspended flat warmer than its neighbours predict', assetKind: 'apartment',
        where: { attrs: { account: 'suspended' } }, field: 'room_temp_c', group: 'building', peers: { attrs: { account: 'active' } },
        offset: 'learn', aboveK: 1.2, learnHours: 24, warmupHours: 2, minPeers: 3, everyS: 300, maxAgeS: 1800,
        onDelayS: 3600, offDelayS: 3600, priority: 'medium', category: 'theft', cause: 'heat-theft', ticket: { resolveOnReturn: false },
        description: 'A suspended flat with its valve shut sits several K below its heated neighbours, and learns by how much; 1.2 K warmer than that for an hour is heat taken through a bypass.',
      }),
    ],
  },
  {
    id: 'overheating',
    fault: 'overheating / waste',
    signature: 'rooms above 22–24 °C; the supply hotter than the emitters allow',
    rules: [
      r({
        id: 'bldg-overheating', kind: 'share', template: 'overheating', name: 'Building overheated', assetKind: 'building',
        member: { kind: 'apartment', attrs: { account: 'active' } }, field: 'room_temp_c', above: 25, minShare: 0.5, minMembers: 5, deadband: 0.05,
        everyS: 300, maxAgeS: 1800, onDelayS: 21600, offDelayS: 3600, priority: 'low', category: 'comfort', cause: 'overheating',
        description: 'Half the flats above 25 °C for 6 hours: heat wasted (homes run at 24–25 °C, DOMAIN.md §1, so only the severe case is an alarm; the milder waste is for the control module\'s advice).',
      }),
      r({
        id: 'ss-t2s-high-radiator', kind: 'threshold', template: 'overheating', name: 'Secondary supply too hot (radiators)', assetKind: 'substation',
        where: { attrs: { emitter: 'radiator' } }, field: 'secondary_supply_temp_c', h: 88, hh: 92, deadband: 2, onDelayS: 60, offDelayS: 120,
        priority: 'high', category: 'equipment', cause: 'supply-too-hot', levelPriority: { hh: 'critical' },
        description: 'Radiators: supply ≤ 85 °C (GB 50736-2012); the PLC\'s protection closes the valve at 92 °C.',
      }),
      r({
        id: 'ss-t2s-high-floor', kind: 'threshold', template: 'overheating', name: 'Secondary supply too hot (floor heating)', assetKind: 'substation',
        where: { attrs: { emitter: 'floor' } }, field: 'secondary_supply_temp_c', h: 58, hh: 62, deadband: 2, onDelayS: 60, offDelayS: 120,
        priority: 'high', category: 'equipment', cause: 'supply-too-hot', levelPriority: { hh: 'critical' },
        description: 'Floor heating: supply ≤ 60 °C (JGJ 142); protection at 62 °C.',
      }),
    ],
  },
  {
    id: 'low-dt',
    fault: 'low-ΔT syndrome',
    signature: 'small secondary ΔT with the pump running: excess flow, poor balancing',
    rules: [
      r({
        id: 'ss-low-dt', kind: 'threshold', template: 'low-dt', name: 'Low ΔT on the secondary', assetKind: 'substation',
        where: { attrs: { emitter: 'radiator' } }, field: 'secondary_supply_temp_c', minus: 'secondary_return_temp_c', l: 5, deadband: 1,
        when: { field: 'circ_pump_running', equals: true }, onDelayS: 3600, offDelayS: 1800, priority: 'low', category: 'equipment', cause: 'low-dt',
      }),
    ],
  },
  {
    id: 'heat-meter-fault',
    fault: 'heat-meter fault',
    signature: 'volume counts but energy does not; ΔT < 0',
    rules: [
      r({
        id: 'ss-meter-no-energy', kind: 'threshold', template: 'heat-meter-fault', name: 'Heat meter: flow without power', assetKind: 'substation',
        field: 'heat_power_kw', l: 0.5, deadband: 1, when: { field: 'primary_flow_m3h', above: 1 }, onDelayS: 300, offDelayS: 300,
        priority: 'medium', category: 'equipment', cause: 'heat-meter',
      }),
      r({
        id: 'ss-meter-negative-dt', kind: 'threshold', template: 'heat-meter-fault', name: 'Heat meter: primary ΔT below zero', assetKind: 'substation',
        field: 'primary_supply_temp_c', minus: 'primary_return_temp_c', l: -0.5, deadband: 0.5, when: { field: 'primary_flow_m3h', above: 1 },
        onDelayS: 600, offDelayS: 300, priority: 'medium', category: 'equipment', cause: 'heat-meter',
      }),
    ],
  },
];

export function templateRules(): Rule[] {
  return RULE_TEMPLATES.flatMap((t) => t.rules);
}
