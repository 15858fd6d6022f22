/**
 * Outgoing-message bookkeeping for the embedded broker with O(1) cost per message.
 *
 * aedes keeps, per client with a persistent session, the QoS 1/2 messages it delivered and that are not yet
 * acknowledged. Its in-memory persistence (aedes-persistence, asyncPersistence.js) holds them in an array and finds a
 * message by scanning it: `outgoingUpdate` (once per delivery) and `outgoingClearMessageId` (once per PUBACK) cost
 * O(messages in flight). The hub holds PUBACKs until readings are durable and so keeps tens of thousands of messages in
 * flight, which made every delivery scan tens of thousands of entries. Here the queue is an insertion-ordered Map keyed
 * by the packet's broker identity (brokerId, brokerCounter), with an index from packet identifier to key; the observable
 * behaviour (order, replacement of a PUBLISH by its PUBREL, errors) is that of aedes-persistence, checked by
 * fast-outgoing.test.ts against the original.
 */
import { Readable } from 'node:stream';
import Packet from 'aedes-packet';

export interface OutgoingPacket {
  brokerId?: string;
  brokerCounter?: number;
  messageId?: number | undefined | null;
  [key: string]: unknown;
}

interface ClientQueue {
  /** Insertion-ordered (= queue order): slot number → message. Slot numbers only grow. */
  slots: Map<number, OutgoingPacket>;
  /** Broker identity → slots holding it, ascending (one, as a rule). */
  byKey: Map<string, number[]>;
  /** Packet identifier → slots holding it, ascending (one, as a rule). */
  byId: Map<number, number[]>;
  next: number;
}

/** The broker identity of a message, or null when it has none (e.g. a PUBREL). */
function keyOf(p: OutgoingPacket): string | null {
  return typeof p.brokerId === 'string' && typeof p.brokerCounter === 'number' ? `${p.brokerId}\u0000${p.brokerCounter}` : null;
}

function add<K>(m: Map<K, number[]>, k: K, slot: number): void {
  const list = m.get(k);
  if (!list) m.set(k, [slot]);
  else {
    let i = list.length;
    while (i > 0 && list[i - 1]! > slot) i--;
    list.splice(i, 0, slot);
  }
}

function remove<K>(m: Map<K, number[]>, k: K, slot: number): void {
  const list = m.get(k);
  if (!list) return;
  const i = list.indexOf(slot);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) m.delete(k);
}

export class FastOutgoing {
  readonly #clients = new Map<string, ClientQueue>();

  #queue(clientId: string): ClientQueue {
    let q = this.#clients.get(clientId);
    if (!q) this.#clients.set(clientId, (q = { slots: new Map(), byKey: new Map(), byId: new Map(), next: 0 }));
    return q;
  }

  #index(q: ClientQueue, slot: number, p: OutgoingPacket, on: boolean): void {
    const k = keyOf(p);
    if (k !== null) (on ? add : remove)(q.byKey, k, slot);
    if (typeof p.messageId === 'number') (on ? add : remove)(q.byId, p.messageId, slot);
  }

  enqueue(clientId: string, packet: OutgoingPacket): void {
    const q = this.#queue(clientId);
    const stored = new (Packet as unknown as new (p: OutgoingPacket) => OutgoingPacket)(packet);
    const slot = q.next++;
    q.slots.set(slot, stored);
    this.#index(q, slot, stored, true);
  }

  /**
   * aedes-persistence `outgoingUpdate`: the first queued message from the same broker identity gets the packet's
   * identifier; failing that, the first message from another broker with the same identifier is replaced by the
   * packet (a PUBLISH by its PUBREL). Otherwise it throws "no such packet".
   */
  update(clientId: string, packet: OutgoingPacket): void {
    const q = this.#queue(clientId);
    const slot = this.#find(q, packet);
    const found = slot === undefined ? undefined : q.slots.get(slot);
    if (slot === undefined || !found) throw new Error('no such packet');
    this.#index(q, slot, found, false);
    if (found.brokerId === packet.brokerId) {
      found.messageId = packet.messageId;
      this.#index(q, slot, found, true);
    } else {
      q.slots.set(slot, packet);
      this.#index(q, slot, packet, true);
    }
  }

  /**
   * The first message, in queue order, that aedes-persistence's scan would stop at: same broker identity, or another
   * broker's message with the same identifier. With an identity and an identifier (every PUBLISH aedes updates) that is
   * two index lookups; otherwise the scan itself.
   */
  #find(q: ClientQueue, packet: OutgoingPacket): number | undefined {
    const k = keyOf(packet);
    if (k !== null && typeof packet.messageId === 'number') {
      const same = q.byKey.get(k)?.[0];
      let other: number | undefined;
      for (const slot of q.byId.get(packet.messageId) ?? []) {
        if (q.slots.get(slot)!.brokerId !== packet.brokerId) {
          other = slot;
          break;
        }
      }
      if (same === undefined) return other;
      return other === undefined || same < other ? same : other;
    }
    for (const [slot, temp] of q.slots) {
      if (temp.brokerId === packet.brokerId) {
        if (temp.brokerCounter === packet.brokerCounter) return slot;
      } else if (temp.messageId === packet.messageId) {
        return slot;
      }
    }
    return undefined;
  }

  /** aedes-persistence `outgoingClearMessageId`: removes and returns the first message with the packet's identifier. */
  clear(clientId: string, packet: OutgoingPacket): OutgoingPacket | undefined {
    const q = this.#clients.get(clientId);
    if (!q) return undefined;
    let slot: number | undefined;
    if (typeof packet.messageId === 'number') {
      slot = q.byId.get(packet.messageId)?.[0];
    } else {
      for (const [s, temp] of q.slots) {
        if (temp.messageId === packet.messageId) {
          slot = s;
          break;
        }
      }
    }
    const stored = slot === undefined ? undefined : q.slots.get(slot);
    if (slot === undefined || !stored) return undefined;
    q.slots.delete(slot);
    this.#index(q, slot, stored, false);
    return stored;
  }

  list(clientId: string): OutgoingPacket[] {
    return [...(this.#clients.get(clientId)?.slots.values() ?? [])];
  }

  size(clientId: string): number {
    return this.#clients.get(clientId)?.slots.size ?? 0;
  }
}

type Cb = (err: Error | null, ...rest: unknown[]) => void;

interface OutgoingMethods {
  outgoingEnqueue(sub: { clientId: string }, packet: OutgoingPacket, cb?: Cb): Promise<void> | void;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: OutgoingPacket, cb?: Cb): Promise<void> | void;
  outgoingUpdate(client: { id: string }, packet: OutgoingPacket, cb?: Cb): Promise<void> | void;
  outgoingClearMessageId(client: { id: string }, packet: OutgoingPacket, cb?: Cb): Promise<OutgoingPacket | undefined> | void;
  outgoingStream(client: { id: string }): Readable;
}

/**
 * Replaces the outgoing-message methods of an aedes-persistence instance with FastOutgoing. Both calling styles of
 * aedes-persistence are kept: a promise without a callback, the callback (next tick) with one.
 */
export function withFastOutgoing<P extends object>(persistence: P): P {
  const fast = new FastOutgoing();
  const run = <T>(fn: () => T, cb: Cb | undefined, onOk: (v: T) => unknown[]): Promise<T> | void => {
    let v: T;
    try {
      v = fn();
    } catch (err) {
      if (cb) return void process.nextTick(cb, err as Error);
      return Promise.reject(err as Error);
    }
    if (cb) return void process.nextTick(() => cb(null, ...onOk(v)));
    return Promise.resolve(v);
  };
  const methods: OutgoingMethods = {
    outgoingEnqueue: (sub, packet, cb) => run(() => fast.enqueue(sub.clientId, packet), cb, () => []),
    outgoingEnqueueCombi: (subs, packet, cb) =>
      run(
        () => {
          for (const s of subs) fast.enqueue(s.clientId, packet);
        },
        cb,
        () => [],
      ),
    outgoingUpdate: (client, packet, cb) => run(() => fast.update(client.id, packet), cb, () => [client, packet]),
    outgoingClearMessageId: (client, packet, cb) => run(() => fast.clear(client.id, packet), cb, (v) => [v]),
    outgoingStream: (client) => Readable.from(fast.list(client.id)),
  };
  return Object.assign(persistence, methods);
}
