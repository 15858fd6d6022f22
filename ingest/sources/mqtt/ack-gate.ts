/**
 * AckGate: holds the PUBACK of every QoS 1 message until that message is settled (made durable by the pipeline, or
 * rejected for good), and releases PUBACKs strictly in the order the messages were received.
 *
 * Why in receipt order: MQTT 3.1.1 §4.6 requires a client to send PUBACKs in the order the PUBLISH packets arrived;
 * MQTT 5 §4.6 keeps that ordering rule for QoS 1 as well. A settled message behind an unsettled one waits.
 *
 * Why a generation: packet ids belong to one network connection's view of the session. When the connection drops,
 * every held PUBACK is void; the broker re-sends those messages on reconnect (MQTT 5 §4.4, persistent session), they
 * pass through here again and are acknowledged then. Tokens of an older generation are ignored when they settle.
 *
 * Pure bookkeeping: the caller supplies `send`, which writes the PUBACKs of one release run (in order), so a batch that
 * becomes durable is acknowledged with one socket write.
 */

export interface AckToken {
  readonly messageId: number;
  readonly generation: number;
  settled: boolean;
}

export class AckGate {
  #queue: AckToken[] = [];
  #head = 0;
  #generation = 0;
  #released = 0;

  /** @param send writes PUBACKs for these message ids, in this order (receipt order). */
  constructor(private readonly send: (messageIds: readonly number[]) => void) {}

  /** Messages received and not yet acknowledged in the current generation. */
  get held(): number {
    return this.#queue.length - this.#head;
  }

  /** PUBACKs written so far. */
  get released(): number {
    return this.#released;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Registers a received QoS 1 message, in receipt order. */
  receive(messageId: number): AckToken {
    const t: AckToken = { messageId, generation: this.#generation, settled: false };
    this.#queue.push(t);
    return t;
  }

  /** Marks messages settled and writes every PUBACK that is now at the head of the queue. */
  settle(tokens: readonly AckToken[] | AckToken): void {
    if (Array.isArray(tokens)) {
      for (const t of tokens as readonly AckToken[]) t.settled = true;
    } else {
      (tokens as AckToken).settled = true;
    }
    this.#release();
  }

  /** The connection is gone: forget every held PUBACK (the broker re-sends those messages). Returns how many. */
  reset(): number {
    const dropped = this.held;
    this.#generation++;
    this.#queue = [];
    this.#head = 0;
    return dropped;
  }

  #release(): void {
    const q = this.#queue;
    let h = this.#head;
    if (h >= q.length || !q[h]!.settled) return;
    const ids: number[] = [];
    while (h < q.length && q[h]!.settled) {
      const t = q[h]!;
      h++;
      if (t.generation === this.#generation) ids.push(t.messageId);
    }
    this.#head = h;
    // Compact now and then so the array does not grow without bound.
    if (h > 4096 && h * 2 > q.length) {
      this.#queue = q.slice(h);
      this.#head = 0;
    }
    this.#released += ids.length;
    this.send(ids);
  }
}
