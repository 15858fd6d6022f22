/** Reasons this source rejects input for, beyond the pipeline's own list, and the shape decoders report them in. */
import type { RejectReason } from '../../pipeline.ts';

export const MQTT_REJECT_REASONS = [
  /** A message on a topic that no template matches (e.g. a subscription left from an older config). */
  'unmatched_topic',
  /** Sparkplug data from an edge node or device this host has no birth for. */
  'sparkplug_no_birth',
  /** Sparkplug `seq` gap: a message of that node was lost. */
  'sparkplug_seq',
  /** Sparkplug NDEATH whose `bdSeq` does not match the current NBIRTH (a stale will). */
  'sparkplug_bdseq',
  /** Sparkplug metric alias not defined by the birth. */
  'sparkplug_alias',
] as const;

export type MqttRejectReason = RejectReason | (typeof MQTT_REJECT_REASONS)[number];

export interface Problem {
  reason: MqttRejectReason;
  detail: string;
}
