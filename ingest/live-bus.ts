/**
 * The in-process live bus: accepted readings and hub events (alarms, tickets, ...) fan out to consumers (alarms,
 * control, the WebSocket feed). Delivery is synchronous and in publish order; a listener must be quick and must not
 * throw (a throwing listener is isolated and reported, the others still receive the message).
 */
import type { Reading } from './reading.ts';

export interface HubEvent {
  topic: string;
  data: unknown;
}

type ReadingListener = (r: Reading) => void;
type EventListener = (e: HubEvent) => void;

export class LiveBus {
  readonly #readings = new Set<ReadingListener>();
  readonly #events = new Set<EventListener>();
  listenerErrors = 0;

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  onReading(fn: ReadingListener): () => void {
    this.#readings.add(fn);
    return () => this.#readings.delete(fn);
  }

  onEvent(fn: EventListener): () => void {
    this.#events.add(fn);
    return () => this.#events.delete(fn);
  }

  publishReading(r: Reading): void {
    for (const fn of this.#readings) {
      try {
        fn(r);
      } catch (err) {
        this.listenerErrors++;
        this.onListenerError(err);
      }
    }
  }

  publishEvent(e: HubEvent): void {
    for (const fn of this.#events) {
      try {
        fn(e);
      } catch (err) {
        this.listenerErrors++;
        this.onListenerError(err);
      }
    }
  }
}
