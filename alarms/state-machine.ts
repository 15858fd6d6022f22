/**
 * The ISA-18.2 / IEC 62682 alarm state machine, pure. An alarm occurrence moves between four process states:
 *
 *   normal ──activate──► unack (active, unacknowledged) ──ack──► ack (active, acknowledged) ──clear──► normal
 *                          │ clear                                                     ▲
 *                          ▼                                                           │
 *                       rtn_unack (returned to normal, unacknowledged) ──ack───────────┘
 *                          │ activate (re-alarm before anyone acknowledged)
 *                          └──────────► unack
 *
 * Shelving, suppression by design and out-of-service are not process states: they decide whether the occurrence is
 * annunciated (shown, ticketed, notified) and are kept beside the state by the engine (alarms/engine.ts).
 */

export const ALARM_STATES = ['normal', 'unack', 'ack', 'rtn_unack'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

export type ProcessEvent = 'activate' | 'clear' | 'ack';

/** The next state, or null when the event does not apply in this state (e.g. acknowledging a normal alarm). */
export function nextState(state: AlarmState, event: ProcessEvent): AlarmState | null {
  switch (state) {
    case 'normal':
      return event === 'activate' ? 'unack' : event === 'clear' ? 'normal' : null;
    case 'unack':
      return event === 'activate' ? 'unack' : event === 'clear' ? 'rtn_unack' : 'ack';
    case 'ack':
      return event === 'activate' ? 'ack' : event === 'clear' ? 'normal' : null;
    case 'rtn_unack':
      return event === 'activate' ? 'unack' : event === 'clear' ? 'rtn_unack' : 'normal';
  }
}

/** Whether the process condition is active in this state. */
export function isActive(state: AlarmState): boolean {
  return state === 'unack' || state === 'ack';
}

/** Whether an occurrence in this state still needs attention (it is listed as current). */
export function isOpen(state: AlarmState): boolean {
  return state !== 'normal';
}
