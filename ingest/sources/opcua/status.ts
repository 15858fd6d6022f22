/**
 * OPC UA status codes as the source reads them, on the numeric value alone (pure; no protocol library).
 *
 * A StatusCode is a UInt32 whose two top bits give its severity (OPC UA Part 4 §7.34.1): 00 Good, 01 Uncertain,
 * 10 Bad (11 is reserved and read as Bad). The low 16 bits are info bits and flags; codes are compared on the top 16.
 */
import type { Quality } from '../../reading.ts';

/** Codes the source acts on (values from Part 6 Annex A, StatusCode.csv). */
export const STATUS = {
  Good: 0x0000_0000,
  UncertainLastUsableValue: 0x4090_0000,
  BadCommunicationError: 0x8005_0000,
  BadTimeout: 0x800a_0000,
  BadServiceUnsupported: 0x800b_0000,
  BadServerNotConnected: 0x800d_0000,
  BadTooManyOperations: 0x8010_0000,
  BadNoCommunication: 0x8031_0000,
  BadWaitingForInitialData: 0x8032_0000,
  BadNodeIdInvalid: 0x8033_0000,
  BadNodeIdUnknown: 0x8034_0000,
  BadAttributeIdInvalid: 0x8035_0000,
  BadNotReadable: 0x803a_0000,
  BadNotWritable: 0x803b_0000,
  BadOutOfRange: 0x803c_0000,
  BadMonitoredItemFilterUnsupported: 0x8044_0000,
  BadFilterNotAllowed: 0x8045_0000,
  BadNoMatch: 0x806f_0000,
  BadTypeMismatch: 0x8074_0000,
  BadTooManySubscriptions: 0x8077_0000,
  BadNotConnected: 0x808a_0000,
  BadDeviceFailure: 0x808b_0000,
  BadSensorFailure: 0x808c_0000,
  BadOutOfService: 0x808d_0000,
  BadDeadbandFilterInvalid: 0x808e_0000,
  BadTooManyMonitoredItems: 0x80db_0000,
  BadUserAccessDenied: 0x801f_0000,
} as const;

const code16 = (c: number): number => (c >>> 16) & 0xffff;
const setOf = (...codes: number[]): Set<number> => new Set(codes.map(code16));

/** Good → good, Uncertain → uncertain, Bad → bad (Part 4 §7.34.1: severity bits 31:30). */
export function qualityOfStatus(code: number): Quality {
  const severity = (code >>> 30) & 0b11;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

/**
 * The server says it cannot reach the device behind the node (OPC UA Part 8, Data Access status codes,
 * and Part 4's general StatusCodes): the device counts as not answering.
 */
const COMMUNICATION = setOf(
  STATUS.BadCommunicationError,
  STATUS.BadServerNotConnected,
  STATUS.BadNoCommunication,
  STATUS.BadNotConnected,
  STATUS.BadDeviceFailure,
  STATUS.BadOutOfService,
  STATUS.BadWaitingForInitialData,
);
export function isCommunicationFailure(code: number): boolean {
  return COMMUNICATION.has(code16(code));
}

/** The node is not there (or not readable as a value): the field is unresolved on this server. */
const UNKNOWN_NODE = setOf(STATUS.BadNodeIdUnknown, STATUS.BadNodeIdInvalid, STATUS.BadNoMatch, STATUS.BadAttributeIdInvalid, STATUS.BadNotReadable, STATUS.BadUserAccessDenied);
export function isUnknownNode(code: number): boolean {
  return UNKNOWN_NODE.has(code16(code));
}

/** The server refuses the monitoring filter (deadband) of an item: monitor it without one. */
const FILTER_REFUSED = setOf(STATUS.BadMonitoredItemFilterUnsupported, STATUS.BadFilterNotAllowed, STATUS.BadDeadbandFilterInvalid);
export function isFilterRefused(code: number): boolean {
  return FILTER_REFUSED.has(code16(code));
}

/** The server cannot subscribe (at all, or to more items): read those nodes by polling instead. */
const CANNOT_SUBSCRIBE = setOf(STATUS.BadServiceUnsupported, STATUS.BadTooManySubscriptions, STATUS.BadTooManyMonitoredItems, STATUS.BadTooManyOperations);
export function cannotSubscribe(code: number): boolean {
  return CANNOT_SUBSCRIBE.has(code16(code));
}

export function isGood(code: number): boolean {
  return (code >>> 30) === 0;
}

/** `0x80340000` style, for messages when no name is at hand. */
export function hexStatus(code: number): string {
  return `0x${(code >>> 0).toString(16).padStart(8, '0').toUpperCase()}`;
}
