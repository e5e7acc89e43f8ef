/** Reason phrases (core/reason-phrases.ts): SIP per RFC 3261 §21 and later RFCs, HTTP per RFC 9110. */
import { describe, expect, it } from 'vitest';
import { httpReason, sipReason } from '../../../core/reason-phrases.js';

describe('sipReason', () => {
  it.each<[number, string]>([
    [100, 'Trying'],
    [200, 'OK'],
    [202, 'Accepted'],
    [400, 'Bad Request'],
    [403, 'Forbidden'],
    [405, 'Method Not Allowed'],
    [408, 'Request Timeout'],
    [412, 'Conditional Request Failed'],
    [413, 'Request Entity Too Large'],
    [423, 'Interval Too Brief'],
    [481, 'Call/Transaction Does Not Exist'],
    [489, 'Bad Event'],
    [500, 'Server Internal Error'],
    [503, 'Service Unavailable'],
    [504, 'Server Time-out'],
  ])('%d → %s', (status, reason) => {
    expect(sipReason(status)).toBe(reason);
  });

  it.each<[number, string]>([
    [183, 'Provisional'],
    [299, 'Success'],
    [302, 'Redirection'],
    [488, 'Client Error'],
    [580, 'Server Error'],
    [603, 'Global Failure'],
  ])('%d without an entry gets the class default %s', (status, reason) => {
    expect(sipReason(status)).toBe(reason);
  });
});

describe('httpReason', () => {
  it.each<[number, string]>([
    [200, 'OK'],
    [201, 'Created'],
    [304, 'Not Modified'],
    [409, 'Conflict'],
    [412, 'Precondition Failed'],
    [413, 'Content Too Large'],
    [500, 'Internal Server Error'],
    [503, 'Service Unavailable'],
  ])('%d → %s', (status, reason) => {
    expect(httpReason(status)).toBe(reason);
  });

  it('differs from SIP where the protocols differ', () => {
    expect(httpReason(412)).not.toBe(sipReason(412));
    expect(httpReason(413)).not.toBe(sipReason(413));
    expect(httpReason(500)).not.toBe(sipReason(500));
  });

  it('falls back to the class default', () => {
    expect(httpReason(418)).toBe('Client Error');
    expect(httpReason(502)).toBe('Server Error');
    expect(httpReason(307)).toBe('Redirection');
  });
});
