import { StatusCodes } from 'node-opcua-status-code';
import { describe, expect, it } from 'vitest';
import { cannotSubscribe, isCommunicationFailure, isFilterRefused, isUnknownNode, qualityOfStatus, STATUS } from './status.ts';

describe('status codes', () => {
  it('uses the values of the OPC UA specification (as node-opcua has them)', () => {
    for (const [name, value] of Object.entries(STATUS)) {
      const lib = (StatusCodes as unknown as Record<string, { value: number }>)[name];
      expect(lib, name).toBeDefined();
      expect(value >>> 0, name).toBe(lib!.value >>> 0);
    }
  });

  it.each([
    [StatusCodes.Good.value, 'good'],
    [StatusCodes.GoodClamped.value, 'good'],
    [StatusCodes.UncertainLastUsableValue.value, 'uncertain'],
    [StatusCodes.UncertainSensorNotAccurate.value, 'uncertain'],
    [StatusCodes.BadSensorFailure.value, 'bad'],
    [StatusCodes.BadNoCommunication.value, 'bad'],
    [0xc000_0000, 'bad'],
  ])('maps 0x%s to %s by its severity bits', (code, quality) => {
    expect(qualityOfStatus(code)).toBe(quality);
  });

  it('classifies by the code, ignoring info bits', () => {
    const withInfoBits = (StatusCodes.BadNoCommunication.value | 0x0400) >>> 0;
    expect(isCommunicationFailure(withInfoBits)).toBe(true);
    expect(isCommunicationFailure(StatusCodes.BadSensorFailure.value)).toBe(false);
    expect(isUnknownNode(StatusCodes.BadNodeIdUnknown.value)).toBe(true);
    expect(isUnknownNode(StatusCodes.BadNoMatch.value)).toBe(true);
    expect(isFilterRefused(StatusCodes.BadMonitoredItemFilterUnsupported.value)).toBe(true);
    expect(cannotSubscribe(StatusCodes.BadTooManyMonitoredItems.value)).toBe(true);
    expect(cannotSubscribe(StatusCodes.BadNodeIdUnknown.value)).toBe(false);
  });
});
